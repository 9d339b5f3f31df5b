import { ExportResultCode, hrTimeToMicroseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';

/**
 * TRACING_EXPORTER=stdout: one JSON object per finished span on its own line, so spans can be
 * read with jq or shipped by a log collector when no OTLP collector is deployed.
 */
export class StdoutSpanExporter implements SpanExporter {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(line)) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      const context = span.spanContext();
      this.write(
        `${JSON.stringify({
          type: 'span',
          name: span.name,
          trace_id: context.traceId,
          span_id: context.spanId,
          parent_span_id: span.parentSpanContext?.spanId,
          kind: span.kind,
          start_us: hrTimeToMicroseconds(span.startTime),
          duration_us: hrTimeToMicroseconds(span.duration),
          status: span.status,
          attributes: span.attributes,
        })}\n`,
      );
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}
}
