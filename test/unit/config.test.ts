import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSettings } from '../../src/config/load.js';
import { SETTING_ENV_VARS, SETTINGS } from '../../src/config/settings.js';
import { configProblems } from '../helpers/config.js';

const problems = configProblems;

describe('config - settings', () => {
  it('has the defaults of docs/api.md', () => {
    const s = loadSettings({});
    assert.equal(s.protocol, 'koorde');
    assert.equal(s.idBits, 66);
    assert.equal(s.degree, 8);
    assert.equal(s.successorListSize, 8);
    assert.equal(s.stabilizeIntervalMs, 2000);
    assert.equal(s.failureTimeoutMs, 1000);
    assert.equal(s.replicationFactor, 3);
    assert.equal(s.storageFixIntervalMs, 20_000);
    assert.equal(s.port, 4000);
    assert.equal(s.httpPort, 8080);
    assert.equal(s.peerPort, 4001);
    assert.equal(s.capacityMB, 1024);
    assert.equal(s.defaultTtlSeconds, 3600);
    assert.equal(s.hotspotDecay, 0.65);
    assert.deepEqual(s.bootstrapPeers, []);
  });

  it('reads YAML keys, and env vars override them', () => {
    const yaml = 'dht:\n  protocol: chord\n  faultTolerance:\n    stabilizationInterval: 500ms\n  bootstrap:\n    peers: [a:4000, b:4001]\ncache:\n  capacityMB: 64\n';
    const path = join(mkdtempSync(join(tmpdir(), 'koorde-config-')), 'node.yaml');
    writeFileSync(path, yaml);
    const s = loadSettings({ CACHE_CAPACITY_MB: '128' }, path);
    assert.equal(s.protocol, 'chord');
    assert.equal(s.stabilizeIntervalMs, 500);
    assert.deepEqual(s.bootstrapPeers, ['a:4000', 'b:4001']);
    assert.equal(s.capacityMB, 128);
  });

  it('accepts durations as 500ms, 2s and 1m', () => {
    assert.equal(loadSettings({ FAILURE_TIMEOUT: '500ms' }).failureTimeoutMs, 500);
    assert.equal(loadSettings({ FAILURE_TIMEOUT: '2s' }).failureTimeoutMs, 2000);
    assert.equal(loadSettings({ STORAGE_FIX_INTERVAL: '1m' }).storageFixIntervalMs, 60_000);
  });

  it('reports every bad setting at once, naming it, its value and what is allowed', () => {
    const found = problems({ DHT_PROTOCOL: 'pastry', CACHE_HOTSPOT_DECAY: '1.5', NODE_PORT: '70000', STABILIZATION_INTERVAL: 'soon' });
    assert.equal(found.length, 4);
    assert.match(found.join('\n'), /DHT_PROTOCOL="pastry": expected one of koorde, chord/);
    assert.match(found.join('\n'), /CACHE_HOTSPOT_DECAY="1.5": expected a number strictly between 0 and 1/);
    assert.match(found.join('\n'), /NODE_PORT="70000": expected an integer from 1 to 65535/);
    assert.match(found.join('\n'), /STABILIZATION_INTERVAL="soon": expected a duration/);
  });

  it('checks settings that only make sense together', () => {
    assert.match(problems({ DEBRUIJN_DEGREE: '16' }).join(), /DEBRUIJN_DEGREE=16 with DHT_ID_BITS=66: .*use degree 2, 4, 8/);
    assert.deepEqual(problems({ DEBRUIJN_DEGREE: '16', DHT_PROTOCOL: 'chord' }), []);
    assert.match(problems({ REPLICATION_FACTOR: '5', SUCCESSOR_LIST_SIZE: '2' }).join(), /at most SUCCESSOR_LIST_SIZE \+ 1 = 3/);
    assert.match(problems({ BOOTSTRAP_MODE: 'dns' }).join(), /BOOTSTRAP_DNS_NAME is empty/);
    assert.match(problems({ CACHE_PEER_PORT: '8080' }).join(), /CACHE_PEER_PORT=8080 equals CACHE_HTTP_PORT: the peer data channel needs its own port/);
    assert.match(problems({ CACHE_PEER_PORT: '4000' }).join(), /CACHE_PEER_PORT=4000 equals NODE_PORT/);
    assert.match(problems({ CACHE_PEER_PORT: '65536' }).join(), /CACHE_PEER_PORT="65536": expected an integer from 0 to 65535/);
  });

  it('rejects unknown YAML keys instead of ignoring a typo', () => {
    assert.deepEqual(problems({}, 'dht:\n  protocl: chord\n'), ['dht.protocl: unknown setting']);
  });

  it('names the file when the YAML does not parse', () => {
    assert.match(problems({}, 'dht: [unclosed\n').join(), /node\.yaml: /);
  });

  it('has one env var and one YAML key per setting', () => {
    assert.equal(new Set(SETTING_ENV_VARS).size, Object.keys(SETTINGS).length);
    assert.equal(new Set(Object.values(SETTINGS).map((s) => s.yaml)).size, Object.keys(SETTINGS).length);
  });
});
