// Tracing of one plugin invocation: when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces
// variant) is set, the command runs inside a span "cilium-cni <COMMAND>" whose context
// @cilium-ts/grpc propagates to the agent, so one trace spans CNI -> agent -> kvstore.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { otlpTracesConfigured, startTelemetry } from '@cilium-ts/grpc';

/** Runs `fn` inside a span named after `command` when OTLP tracing is configured, else just runs it. */
export async function withCommandSpan<T>(command: string, attributes: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  if (!otlpTracesConfigured(process.env)) return fn();
  const telemetry = await startTelemetry({ serviceName: 'cilium-cni' });
  try {
    return await trace.getTracer('cilium-cni').startActiveSpan(`cilium-cni ${command}`, { attributes }, async (span) => {
      try {
        return await fn();
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    });
  } finally {
    // Flush before the process exits: a CNI plugin lives for one command.
    await telemetry.shutdown();
  }
}
