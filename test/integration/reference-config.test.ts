import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NODE_SCRIPT } from '../helpers/node-cluster.js';
import { freePorts, ProcessGroup, waitFor } from '../helpers/processes.js';
import { REFERENCE_CONFIG_YAML, referenceConfigMap } from '../helpers/reference.js';

/**
 * Only what a test machine cannot share changes: the two ports (other tests run beside this one)
 * and loopback for bind and advertised host (a pod gets NODE_HOST from its IP).
 */
async function loopbackPlacement() {
  const [grpc, http] = await freePorts(2);
  // Any free peer port: the reference files predate it, and two nodes of this suite run at once.
  const env = { NODE_PORT: String(grpc), CACHE_HTTP_PORT: String(http), CACHE_PEER_PORT: '0', NODE_BIND: '127.0.0.1', NODE_HOST: '127.0.0.1' };
  return { http: `http://127.0.0.1:${http}`, env };
}

async function ready(http: string): Promise<{ status: string }> {
  return waitFor('the node to report READY', async () => {
    const res = await fetch(`${http}/health`);
    return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
  });
}

describe('reference configuration - a node starts with what the original deployment gives it', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('the dht-config ConfigMap values as they are (tracing endpoint host:port, TRACING_EXPORTER=otlp)', async () => {
    const place = await loopbackPlacement();
    const node = group.node('configmap', NODE_SCRIPT, [], { ...referenceConfigMap(), ...place.env });
    const health = await ready(place.http);
    assert.equal(health.status, 'READY');
    assert.doesNotMatch(node.output(), /invalid configuration/);
  });

  it('the reference config.yaml as it is (logger.active, logger.file, route53, empty exporter)', async () => {
    const place = await loopbackPlacement();
    const node = group.node('yaml', NODE_SCRIPT, ['--config', REFERENCE_CONFIG_YAML], place.env);
    const health = await ready(place.http);
    assert.equal(health.status, 'READY');
    // logger.encoding console in that file: readable lines, not JSON.
    await waitFor('a console log line', async () => /INFO node listening/.test(node.output()));
  });
});

describe('LOGGER_MODE=file - a node writes its logs to rotated files', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('logs from start to the last line of a SIGTERM leave land in the file, none on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koorde-node-logs-'));
    const place = await loopbackPlacement();
    const node = group.node('file-logger', NODE_SCRIPT, [], { ...place.env, LOGGER_MODE: 'file', LOGGER_FILE_PATH: join(dir, 'node.log') });
    await ready(place.http);
    node.child.kill('SIGTERM');
    assert.equal(await node.exited, 0);
    const lines = readFileSync(join(dir, 'node.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    const messages = lines.map((l) => l.msg);
    assert.ok(messages.includes('node listening'));
    assert.equal(messages.at(-1), 'node stopped');
    assert.doesNotMatch(node.output(), /node listening/);
  });
});
