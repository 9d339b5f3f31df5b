import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { Hop } from '../routing/lookup.js';

/**
 * Spans go through the OpenTelemetry API only: without a registered provider (TRACING_ENABLED
 * false, or the simulator) every call here is a no-op, so code can trace unconditionally.
 */
const tracer = trace.getTracer('koorde-web-cache');

/** Runs `work` inside an active span that ends with it and records its failure. */
export async function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** One child span per hop of a finished lookup, placed at the times the hops took. */
export function recordHops(path: readonly Hop[]): void {
  for (const hop of path) {
    const span = tracer.startSpan(`dht.hop ${hop.kind}`, {
      kind: SpanKind.CLIENT,
      startTime: hop.startedAt,
      attributes: {
        'dht.hop.kind': hop.kind,
        'dht.hop.from': hop.from.addr,
        'dht.hop.to': hop.to.addr,
        'dht.hop.shifts': hop.shifts,
        ...(hop.imaginary === undefined ? {} : { 'dht.koorde.imaginary': hop.imaginary.toString(16) }),
      },
    });
    span.end(hop.startedAt + hop.ms);
  }
}

/** W3C trace context of the active span, as headers (gRPC metadata) for the next node. */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Runs `work` as a continuation of the trace a caller sent in `headers`. */
export function continueTrace<T>(headers: Record<string, string>, work: () => T): T {
  return context.with(propagation.extract(context.active(), headers), work);
}

export { SpanKind };
