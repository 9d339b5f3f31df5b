import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { parse as parseYaml } from 'yaml';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadSettings } from '../../src/config/load.js';
import { StdoutSpanExporter } from '../../src/server/stdout-span-exporter.js';
import { configProblems, yamlFile } from '../helpers/config.js';
import { REFERENCE_CONFIG_YAML, referenceConfigMap } from '../helpers/reference.js';

describe('config - what users of the original system type', () => {
  it('the reference dht-config ConfigMap loads as it is, its gRPC collector endpoint included', () => {
    const s = loadSettings(referenceConfigMap());
    assert.equal(s.tracingExporter, 'otlp');
    assert.equal(s.tracingEndpoint, 'jaeger-collector.observability.svc.cluster.local:4317');
    assert.equal(s.degree, 2);
    assert.equal(s.hotspotThreshold, 1000);
  });

  it('the reference config.yaml loads as it is: logger.active, logger.file.*, route53.*, an empty exporter', () => {
    const s = loadSettings({}, REFERENCE_CONFIG_YAML);
    assert.equal(s.loggerEnabled, true);
    assert.equal(s.loggerEncoding, 'console');
    assert.equal(s.loggerFileMaxSizeMB, 100);
    assert.equal(s.loggerFileMaxBackups, 3);
    assert.equal(s.loggerFileMaxAgeDays, 7);
    assert.equal(s.route53TtlSeconds, 30);
    assert.equal(s.tracingExporter, 'otlp');
    assert.equal(s.host, 'localhost');
  });

  it('logger.active is the reference spelling of logger.enabled; both with different values is an error', () => {
    assert.equal(loadSettings({}, yamlFile('logger:\n  active: false\n')).loggerEnabled, false);
    assert.match(configProblems({}, 'logger:\n  active: false\n  enabled: true\n').join('\n'), /logger\.active and logger\.enabled disagree/);
  });

  it('TRACING_ENDPOINT takes host:port (OTLP/gRPC) or an http(s) URL (OTLP/HTTP); anything else names the forms', () => {
    assert.equal(loadSettings({ TRACING_ENABLED: 'true', TRACING_ENDPOINT: '127.0.0.1:4317' }).tracingEndpoint, '127.0.0.1:4317');
    assert.equal(loadSettings({ TRACING_ENABLED: 'true', TRACING_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }).tracingEndpoint, 'http://127.0.0.1:4318/v1/traces');
    const found = configProblems({ TRACING_ENDPOINT: 'ftp://collector' });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /TRACING_ENDPOINT="ftp:\/\/collector": expected empty, host:port \(OTLP\/gRPC\) or an http\(s\):\/\/ URL/);
  });

  it('TRACING_EXPORTER is otlp, stdout or none; only otlp needs an endpoint', () => {
    assert.deepEqual(configProblems({ TRACING_ENABLED: 'true', TRACING_EXPORTER: 'stdout' }), []);
    assert.deepEqual(configProblems({ TRACING_ENABLED: 'true', TRACING_EXPORTER: 'none' }), []);
    assert.match(configProblems({ TRACING_ENABLED: 'true' })[0]!, /TRACING_ENDPOINT is empty/);
    assert.match(configProblems({ TRACING_EXPORTER: 'jaeger' })[0]!, /TRACING_EXPORTER="jaeger": expected one of otlp, stdout, none/);
  });

  it('BOOTSTRAP_MODE=route53 needs the zone and the suffix; LOGGER_MODE=file needs a path', () => {
    const found = configProblems({ BOOTSTRAP_MODE: 'route53', LOGGER_MODE: 'file' }).join('\n');
    assert.match(found, /ROUTE53_ZONE_ID is empty/);
    assert.match(found, /ROUTE53_SUFFIX is empty/);
    assert.match(found, /LOGGER_FILE_PATH is empty/);
    assert.match(configProblems({ ROUTE53_SUFFIX: 'bad suffix!' })[0]!, /ROUTE53_SUFFIX="bad suffix!": expected empty or a DNS domain/);
  });

  it("the README's table lists every setting of the reference ConfigMap and config.yaml with its status", () => {
    const readme = readFileSync('README.md', 'utf8');
    const table = readme.slice(readme.indexOf('### Coming from KoordeDHT-Web-Cache'));
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    const leaves = (node: unknown, path = ''): string[] =>
      node && typeof node === 'object' && !Array.isArray(node)
        ? Object.entries(node).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k))
        : [path];
    const yamlKeys = leaves(parseYaml(readFileSync(REFERENCE_CONFIG_YAML, 'utf8')));
    for (const env of Object.keys(referenceConfigMap())) {
      const row = rows.find((r) => r.startsWith(`| \`${env}\` /`));
      assert.ok(row, `${env} has no row`);
      assert.match(row, /\| (same|extended|renamed-with-alias) \|/, row);
    }
    for (const key of yamlKeys) assert.ok(rows.some((r) => r.includes(` / ${key} |`)), `${key} has no row`);
  });

  it('TRACING_EXPORTER=stdout writes each finished span as one JSON line', () => {
    const lines: string[] = [];
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new StdoutSpanExporter((l) => lines.push(l)))] });
    const span = provider.getTracer('t').startSpan('cache.request', { kind: SpanKind.SERVER, attributes: { 'http.url': 'http://127.0.0.1/x' } });
    span.end();
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('\n'));
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(parsed.name, 'cache.request');
    assert.deepEqual(parsed.attributes, { 'http.url': 'http://127.0.0.1/x' });
    assert.match(String(parsed.trace_id), /^[0-9a-f]{32}$/);
  });
});
