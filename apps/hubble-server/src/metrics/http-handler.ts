// `http`: hubble_http_requests_total{method, protocol, reporter},
// hubble_http_responses_total{method, status, reporter} and
// hubble_http_request_duration_seconds{method, reporter}. Empty until L7 flows exist.
import { flow } from '@cilium-ts/api';
import type { MetricHandler } from './handler.js';

/** Who observed the exchange: the client side (egress) or the server side (ingress). */
function reporter(f: flow.Flow): string {
  if (f.trafficDirection === flow.TrafficDirection.EGRESS) return 'client';
  if (f.trafficDirection === flow.TrafficDirection.INGRESS) return 'server';
  return 'unknown';
}

/** HTTP requests, responses and request durations from L7 HTTP flows. */
export const httpHandler: MetricHandler = {
  name: 'http',
  options: [],
  create(meter) {
    const requests = meter.createCounter('hubble_http_requests_total', { description: 'Count of HTTP requests' });
    const responses = meter.createCounter('hubble_http_responses_total', { description: 'Count of HTTP responses' });
    const duration = meter.createHistogram('hubble_http_request_duration_seconds', {
      description: 'Quantiles of HTTP request duration in seconds',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    });
    return (f, context) => {
      const http = f.l7?.http;
      if (!http) return;
      const rep = reporter(f);
      if (f.l7!.type === flow.L7FlowType.REQUEST) {
        requests.add(1, { method: http.method, protocol: http.protocol, reporter: rep, ...context });
      } else if (f.l7!.type === flow.L7FlowType.RESPONSE) {
        responses.add(1, { method: http.method, status: String(http.code), reporter: rep, ...context });
        duration.record(Number(f.l7!.latencyNs) / 1e9, { method: http.method, reporter: rep, ...context });
      }
    };
  },
};
