import { NodeTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpHttpExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { tracingStarted } from '../runtime/telemetry.js';
import { StdoutSpanExporter } from './stdout-span-exporter.js';

export interface TracingInit {
  readonly exporter: 'otlp' | 'stdout' | 'none';
  /** `host:port` = OTLP/gRPC (collector port 4317), `http(s)://…` = OTLP/HTTP (4318). */
  readonly endpoint: string;
}

/**
 * TRACING_ENABLED: registers an OpenTelemetry provider that batches spans to the chosen exporter,
 * with W3C trace context propagation between nodes. Returns the flush-and-stop to call on
 * shutdown, or nothing when TRACING_EXPORTER=none (spans stay no-ops).
 */
export function startTracing(init: TracingInit, node: { addr: string; id: string; protocol: string }): (() => Promise<void>) | undefined {
  if (init.exporter === 'none') return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'koorde-web-cache', 'service.instance.id': node.addr, 'dht.node.id': node.id, 'dht.protocol': node.protocol }),
    spanProcessors: [new BatchSpanProcessor(spanExporter(init))],
  });
  provider.register();
  tracingStarted();
  return () => provider.shutdown();
}

function spanExporter({ exporter, endpoint }: TracingInit): SpanExporter {
  if (exporter === 'stdout') return new StdoutSpanExporter();
  if (/^https?:\/\//i.test(endpoint)) return new OtlpHttpExporter({ url: endpoint });
  // The reference deployments give the collector's gRPC port as host:port, plaintext inside the cluster.
  return new OtlpGrpcExporter({ url: `http://${endpoint}` });
}
