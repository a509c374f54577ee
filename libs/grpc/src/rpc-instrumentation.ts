// Wraps every handler of a service: trace context from metadata, one span per RPC
// (named by its path), duration histogram and call counter by method and status code,
// mapping of thrown errors to gRPC statuses (unexpected ones become INTERNAL and are
// logged with their stack), and tracking of streaming calls for graceful shutdown.
import {
  type Metadata,
  type MethodDefinition,
  type ServiceDefinition,
  status,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  context,
  type Context,
  type Counter,
  type Histogram,
  metrics,
  type MeterProvider,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type TextMapGetter,
} from '@opentelemetry/api';
import { serviceErrorFromStatus, statusFromError, UnimplementedError } from './errors.js';
import type { Logger } from '@cilium-ts/process';
import type { StreamTracker } from './stream-tracker.js';

const INSTRUMENTATION_SCOPE = '@cilium-ts/grpc';

/** What the wrapper needs from the server. */
export interface InstrumentationContext {
  logger: Logger;
  tracker: StreamTracker;
}

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get: (md, key) => {
    const values = md.get(key).map(String);
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

interface Instruments {
  duration: Histogram;
  calls: Counter;
}
let instruments: { provider: MeterProvider; value: Instruments } | undefined;

// The global MeterProvider is not a proxy: instruments made before startTelemetry()
// would stay no-ops, so they are (re)made whenever the provider changed.
function getInstruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (instruments?.provider !== provider) {
    const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
    instruments = {
      provider,
      value: {
        duration: meter.createHistogram('rpc.server.duration', {
          description: 'Duration of gRPC server calls',
          unit: 'ms',
        }),
        calls: meter.createCounter('rpc.server.calls', {
          description: 'gRPC server calls handled, by method and status code',
        }),
      },
    };
  }
  return instruments.value;
}

/** The fully-qualified service name of a ts-proto / grpc-js service definition. */
export function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0] as MethodDefinition<unknown, unknown> | undefined;
  const match = first?.path.match(/^\/(.+)\/[^/]+$/);
  if (!match) throw new Error('service definition has no methods; cannot tell its name');
  return match[1]!;
}

/** One RPC in progress: its span and the function that records how it ended. */
interface RpcRecord {
  ctx: Context;
  end(code: status, details?: string): void;
}

function startRpc(path: string, metadata: Metadata, ictx: InstrumentationContext): RpcRecord {
  const [, service = '', method = ''] = path.match(/^\/(.+)\/([^/]+)$/) ?? [];
  const parent = propagation.extract(context.active(), metadata, metadataGetter);
  const span: Span = trace.getTracer(INSTRUMENTATION_SCOPE).startSpan(
    path,
    { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } },
    parent,
  );
  const started = performance.now();
  let ended = false;
  return {
    ctx: trace.setSpan(parent, span),
    end(code, details) {
      if (ended) return;
      ended = true;
      const ms = performance.now() - started;
      span.setAttribute('rpc.grpc.status_code', code);
      if (code !== status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: details ?? status[code] });
      span.end();
      const attrs = { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, 'rpc.grpc.status_code': code };
      const inst = getInstruments();
      inst.duration.record(ms, attrs);
      inst.calls.add(1, attrs);
      if (ictx.logger.enabled('debug')) {
        ictx.logger.debug('rpc finished', { method: path, code: status[code], durationMs: Math.round(ms * 1000) / 1000 });
      }
    },
  };
}

function mapError(err: unknown, path: string, ictx: InstrumentationContext) {
  const mapped = statusFromError(err);
  if (mapped.unexpected) {
    ictx.logger.error('rpc handler failed', { method: path, error: err instanceof Error ? err : String(err) });
  }
  return mapped;
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

type AnyCall = {
  metadata: Metadata;
  writableEnded?: boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  end(): unknown;
};
type Callback = (err: unknown, value?: unknown, trailer?: Metadata, flags?: number) => void;
type AnyHandler = (call: AnyCall, callback: Callback) => unknown;

function wrapWithCallback(path: string, impl: AnyHandler, ictx: InstrumentationContext): UntypedHandleCall {
  return ((call: AnyCall, callback: Callback) => {
    const rpc = startRpc(path, call.metadata, ictx);
    let done = false;
    const finish: Callback = (err, value, trailer, flags) => {
      if (done) return;
      done = true;
      if (err) {
        const mapped = mapError(err, path, ictx);
        rpc.end(mapped.code, mapped.details);
        callback(serviceErrorFromStatus(mapped), null, trailer, flags);
      } else {
        rpc.end(status.OK);
        callback(null, value, trailer, flags);
      }
    };
    call.on('cancelled', () => rpc.end(status.CANCELLED));
    try {
      const result = context.with(rpc.ctx, () => impl(call, finish));
      // Async handlers may return the response instead of calling back.
      if (isPromise(result)) {
        result.then((v) => {
          if (v !== undefined) finish(null, v);
        }, (e: unknown) => finish(e ?? new Error('handler rejected without a reason')));
      }
    } catch (e) {
      finish(e);
    }
  }) as unknown as UntypedHandleCall;
}

function wrapStreaming(path: string, impl: AnyHandler, ictx: InstrumentationContext): UntypedHandleCall {
  return ((call: AnyCall) => {
    const rpc = startRpc(path, call.metadata, ictx);
    let errorCode: { code: status; details: string } | undefined;
    ictx.tracker.track(call as unknown as Parameters<StreamTracker['track']>[0]);
    call.on('error', (e: unknown) => {
      const m = statusFromError(e);
      errorCode ??= { code: m.code, details: m.details };
    });
    call.on('finish', () => rpc.end(errorCode?.code ?? status.OK, errorCode?.details));
    call.on('cancelled', () => rpc.end(status.CANCELLED));
    const fail = (e: unknown) => {
      const mapped = mapError(e, path, ictx);
      errorCode = { code: mapped.code, details: mapped.details };
      if (!call.writableEnded) call.emit('error', serviceErrorFromStatus(mapped));
      else rpc.end(mapped.code, mapped.details);
    };
    try {
      const result = context.with(rpc.ctx, () => impl(call, () => {}));
      if (isPromise(result)) result.catch((e: unknown) => fail(e ?? new Error('handler rejected without a reason')));
    } catch (e) {
      fail(e);
    }
  }) as unknown as UntypedHandleCall;
}

/**
 * Returns handlers for every method of `definition`, each wrapped with tracing, metrics,
 * error mapping and stream tracking. Methods missing from `implementation` answer
 * UNIMPLEMENTED. Handlers may be grpc-js style (call, callback) or async: an async
 * unary handler may return its response.
 */
export function instrumentService(
  definition: ServiceDefinition,
  implementation: object,
  ictx: InstrumentationContext,
): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    const given = (implementation as Record<string, unknown>)[key] as AnyHandler | undefined;
    let impl: AnyHandler;
    if (typeof given !== 'function') {
      const path = method.path;
      impl = method.responseStream
        ? (() => {
            throw new UnimplementedError(`method ${path} is not implemented by this server`);
          })
        : ((_call: AnyCall, cb: Callback) => cb(new UnimplementedError(`method ${path} is not implemented by this server`)));
    } else {
      impl = given.bind(implementation);
    }
    out[key] = method.responseStream ? wrapStreaming(method.path, impl, ictx) : wrapWithCallback(method.path, impl, ictx);
  }
  return out;
}
