import { context, INVALID_SPAN_CONTEXT, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { Hop } from '../routing/lookup.js';

/**
 * Spans go through the OpenTelemetry API only, and only once a provider is registered
 * (TRACING_ENABLED): until then every call here returns at once, without touching the API, so
 * code can trace unconditionally and a request with tracing off pays nothing for it.
 */
const tracer = trace.getTracer('koorde-web-cache');
let tracing = false;
/** What `work` gets while tracing is off: records nothing. */
const NOT_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Called once a tracer provider is registered: spans are made from then on. */
export function tracingStarted(): void {
  tracing = true;
}

/** Whether spans are being made: shortcuts that skip them must not be taken then. */
export function tracingOn(): boolean {
  return tracing;
}

/** Runs `work` inside an active span that ends with it and records its failure. */
export function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  if (!tracing) return work(NOT_RECORDING);
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
  if (!tracing) return;
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
  if (!tracing) return {};
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Runs `work` as a continuation of the trace a caller sent in `headers`. */
export function continueTrace<T>(headers: Record<string, string>, work: () => T): T {
  if (!tracing) return work();
  return context.with(propagation.extract(context.active(), headers), work);
}

export { SpanKind };
