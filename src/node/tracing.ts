import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';

/**
 * TRACING_ENABLED: registers an OpenTelemetry provider that batches spans to TRACING_ENDPOINT
 * over OTLP/HTTP (Jaeger and the OpenTelemetry Collector read it), with W3C trace context
 * propagation between nodes. Returns the flush-and-stop to call on shutdown.
 */
export function startTracing(endpoint: string, node: { addr: string; id: string; protocol: string }): () => Promise<void> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'koorde-web-cache', 'service.instance.id': node.addr, 'dht.node.id': node.id, 'dht.protocol': node.protocol }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }))],
  });
  provider.register();
  return () => provider.shutdown();
}
