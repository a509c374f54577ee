// One page's live feed from the relay: a follow GetFlows call with the page's filters; when
// the relay goes away the feed says so and calls again with backoff (only new flows then),
// saying so again once the relay answers.
import { Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import type { Logger } from '@cilium-ts/process';
import { toFlowView, type FlowView } from './flow-view.js';

/** RelayState is what the page is told about the relay. */
export interface RelayState {
  state: 'connecting' | 'connected' | 'unavailable';
  message: string;
}

/** RelayFeedOptions configure one feed. */
export interface RelayFeedOptions {
  client: observer.ObserverClient;
  request: observer.GetFlowsRequest;
  onFlow: (f: FlowView) => void;
  onState: (s: RelayState) => void;
  logger?: Logger;
  /** First and longest retry delay, ms. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

/** RelayFeed follows the relay's flows for one page until closed. */
export class RelayFeed {
  private call: ClientReadableStream<observer.GetFlowsResponse> | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private state: RelayState['state'] = 'connecting';

  constructor(private readonly opts: RelayFeedOptions) {
    this.delay = opts.retryInitialMs ?? 250;
    this.open(opts.request);
  }

  private setState(state: RelayState['state'], message: string): void {
    if (state === this.state && state !== 'unavailable') return;
    this.state = state;
    this.opts.onState({ state, message });
  }

  private open(request: observer.GetFlowsRequest): void {
    if (this.closed) return;
    const call = this.opts.client.getFlows(request, new Metadata());
    this.call = call;
    const up = (): void => {
      if (this.closed || this.call !== call) return;
      this.delay = this.opts.retryInitialMs ?? 250;
      this.setState('connected', '');
    };
    call.on('metadata', up);
    // The relay may send its headers only with the first flow: a ready channel already says it is there.
    this.opts.client.waitForReady(Date.now() + 10_000, (err) => {
      if (!err) up();
    });
    call.on('data', (res: observer.GetFlowsResponse) => {
      if (res.flow) this.opts.onFlow(toFlowView(res.flow));
    });
    call.on('error', (err: ServiceError) => {
      if (this.closed || this.call !== call) return;
      this.call = undefined;
      this.opts.logger?.warn('relay GetFlows failed; retrying', { code: err.code, error: err.details || err.message, retryMs: this.delay });
      this.setState('unavailable', `hubble-relay unavailable: ${err.details || err.message}`);
      this.retry(request);
    });
    call.on('end', () => {
      if (this.closed || this.call !== call) return;
      this.call = undefined;
      this.setState('unavailable', 'hubble-relay ended the flow stream');
      this.retry(request);
    });
  }

  private retry(request: observer.GetFlowsRequest): void {
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.opts.retryMaxMs ?? 4000);
    this.timer = setTimeout(() => this.open(observer.GetFlowsRequest.fromPartial({ ...request, number: 0n })), delay);
  }

  /** close cancels the call and stops retrying. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.call?.cancel();
    this.call = undefined;
  }
}
