import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { DhtClient } from '../../src/client/dht-client.js';
import { PROTO_DIR } from '../../src/transport/grpc/protos.js';
import { startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup } from '../helpers/processes.js';
import { answersHealth } from '../helpers/raw-grpc.js';

/**
 * Garbage in every field of every request of every service in package dht.v1, derived from the
 * proto files themselves, so that a method added later is fuzzed too.
 */
const PACKAGES = ['dht.v1.', 'cache.v1.'];
const definition = protoLoader.loadSync(['dht/v1/dht.proto', 'cache/v1/cache.proto'], { keepCase: true, longs: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] });

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
type Descriptor = { field: FieldDescriptor[] };

const MIB = 1024 * 1024;
/** Values of each scalar type: empty, not hex, huge, negative, 2^64 − 1, NaN, well-formed but absurd. */
const SCALARS: Record<string, readonly unknown[]> = {
  TYPE_STRING: ['', 'zz', 'NaN', '-1', '0', 'x'.repeat(5000), 'f'.repeat(40), 'ABCDEF', '\u0000\uffff', '127.0.0.1:0', '127.0.0.1:1', 'a:99999', '0x10', 'HEAD'],
  TYPE_UINT64: ['0', '18446744073709551615', '9007199254740993', '1'],
  TYPE_INT64: ['0', '-9223372036854775808', '9223372036854775807', '-1'],
  TYPE_UINT32: [0, 4294967295, 1],
  TYPE_INT32: [0, -2147483648, 2147483647],
  TYPE_DOUBLE: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e308],
  TYPE_BOOL: [true, false],
  TYPE_BYTES: [Buffer.alloc(0), Buffer.alloc(4 * MIB, 0xff), Buffer.from([0, 1, 2])],
};
const VARIANTS = 14;

function descriptor(typeName: string): Descriptor {
  const found = PACKAGES.map((p) => definition[`${p}${typeName}`]).find(Boolean) ?? definition[typeName.replace(/^\./, '')];
  assert.ok(found && 'format' in found, `message type ${typeName} is in the loaded definitions`);
  return (found as { type: unknown }).type as Descriptor;
}

/** Variant `v` of a garbage message: every field set, scalars cycling through SCALARS. */
function garbage(type: Descriptor, v: number, depth = 0): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  type.field.forEach((field, at) => {
    const pick = v + at;
    const one = (): unknown => {
      if (field.type === 'TYPE_MESSAGE') return depth >= 2 || pick % 5 === 4 ? null : garbage(descriptor(field.typeName), pick, depth + 1);
      const values = SCALARS[field.type] ?? [0];
      return values[pick % values.length];
    };
    if (field.label !== 'LABEL_REPEATED') message[field.name] = one();
    // Long lists of small elements probe the list bounds; one big element the field checks.
    else message[field.name] = pick % 3 === 0 ? [] : pick % 3 === 1 ? [one()].filter((x) => x !== null) : Array.from({ length: 600 }, () => (field.type === 'TYPE_MESSAGE' ? {} : one()));
  });
  return message;
}

/** Bytes that are no valid encoding of the request: wrong wire types, lengths past the end. */
function rawGarbage(type: Descriptor): Buffer[] {
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
    out.push(n);
    return out;
  };
  return [
    Buffer.from(type.field.flatMap((f) => [...varint((f.number << 3) | (f.type === 'TYPE_STRING' || f.type === 'TYPE_MESSAGE' || f.type === 'TYPE_BYTES' ? 0 : 2)), 5])),
    Buffer.from(type.field.flatMap((f) => [...varint((f.number << 3) | 2), ...varint(1_000_000), 1, 2])),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
  ];
}

interface Answer {
  readonly code: number;
  readonly details: string;
}

const identity = (b: Buffer) => b;

/** One call of any kind (unary or server-streaming) with already-encoded bytes. */
function send(client: grpc.Client, method: protoLoader.MethodDefinition<object, object>, body: Buffer): Promise<Answer> {
  const deadline = Date.now() + 15_000;
  return new Promise((resolve) => {
    if (method.requestStream) {
      const call = method.responseStream
        ? client.makeBidiStreamRequest(method.path, identity, identity, new grpc.Metadata(), { deadline })
        : client.makeClientStreamRequest(method.path, identity, identity, new grpc.Metadata(), { deadline }, (err) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }));
      call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
      call.on('error', () => {});
      call.write(body);
      call.end();
    } else if (method.responseStream) {
      const call = client.makeServerStreamRequest(method.path, identity, identity, body, new grpc.Metadata(), { deadline });
      call.on('data', () => {});
      call.on('error', () => {});
      call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
    } else {
      client.makeUnaryRequest(method.path, identity, identity, body, new grpc.Metadata(), { deadline }, (err) =>
        resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }),
      );
    }
  });
}

/** Statuses that mean the node looked at the garbage and said no (or did the harmless thing). */
const CLEAN = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.PERMISSION_DENIED,
  grpc.status.RESOURCE_EXHAUSTED,
]);

const methods = Object.entries(definition)
  .filter(([name, def]) => PACKAGES.some((p) => name.startsWith(p)) && !('format' in def))
  .flatMap(([service, def]) => Object.entries(def as grpc.ServiceDefinition).map(([rpc, method]) => ({ service, rpc, method: method as unknown as protoLoader.MethodDefinition<object, object> })));

describe('integration - node-to-node input - every dht.v1 and cache.v1 method fuzzed on a real node', () => {
  const group = new ProcessGroup();
  let nodes: TestNode[];
  let client: grpc.Client;

  before(async () => {
    nodes = await startNodes(group, 2, { protocol: 'koorde', degree: 8, idBits: 66 });
    await waitForStableRing(nodes, { protocol: 'koorde', degree: 8, idBits: 66, successors: 1 });
    client = new grpc.Client(nodes[0]!.addr, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await group.stopAll();
  });

  it('finds both services in the proto definitions', () => {
    const services = new Set(methods.map((m) => m.service));
    assert.deepEqual([...services].sort(), ['cache.v1.Cache', 'dht.v1.Dht']);
    assert.ok(methods.length >= 14, `${methods.length} methods`);
  });

  for (const { service, rpc, method } of methods) {
    it(`${service}/${rpc}: answers garbage with a clean status, keeps serving /health, never exits`, async () => {
      const type = (method.requestType as unknown as { type: Descriptor }).type;
      const encoded: Buffer[] = [];
      for (let v = 0; v < VARIANTS; v++) encoded.push(method.requestSerialize(garbage(type, v)));
      const raw = rawGarbage(type);
      const [typed, undecodable] = await Promise.all([Promise.all(encoded.map((b) => send(client, method, b))), Promise.all(raw.map((b) => send(client, method, b)))]);
      typed.forEach((answer, v) => assert.ok(CLEAN.has(answer.code), `variant ${v}: status ${grpc.status[answer.code]} ${answer.details}`));
      // Bytes no decoder accepts are refused by gRPC itself before any handler runs.
      for (const answer of undecodable) assert.ok(CLEAN.has(answer.code) || answer.code === grpc.status.INTERNAL, `status ${grpc.status[answer.code]} ${answer.details}`);
      assert.ok(await answersHealth(nodes[0]!.http), 'answers /health after the burst');
      assert.equal(nodes[0]!.proc.child.exitCode, null, nodes[0]!.proc.output().slice(-2000));
    });
  }

  it('still serves clients after all of it', async () => {
    const kv = new DhtClient(nodes[0]!.addr, 5000);
    after(() => kv.close());
    await kv.put('after-fuzz', 'fine');
    assert.equal(await kv.get('after-fuzz'), 'fine');
  });
});
