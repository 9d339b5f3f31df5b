#!/usr/bin/env node
import { ClientError, DhtClient, type NodeInfo } from '../client/dht-client.js';
import { GrpcCredentials, readTlsMaterial, TlsFilesError } from '../transport/grpc/tls.js';
import { command, duration, usageError } from './options.js';
import { runRepl } from './repl.js';

const NAME = 'koorde-client';
const program = command(NAME, 'Interactive DHT client over gRPC (client.v1.ClientAPI). Reads commands from a terminal or a pipe.')
  .option('--addr <host:port>', 'node to talk to', 'localhost:4000')
  .option('--timeout <duration>', 'deadline of each call', duration, 5000)
  .option('--tls-ca <file>', "mutual TLS: PEM of the ring's CA (the node's TLS_CA_FILE)", '')
  .option('--tls-cert <file>', 'mutual TLS: PEM of a client certificate signed by that CA', '')
  .option('--tls-key <file>', 'mutual TLS: PEM of its private key; all three --tls-* flags or none (plaintext)', '')
  .parse();
const opts = program.opts<{ addr: string; timeout: number; tlsCa: string; tlsCert: string; tlsKey: string }>();

let credentials: GrpcCredentials;
try {
  credentials = new GrpcCredentials(readTlsMaterial({ ca: opts.tlsCa, cert: opts.tlsCert, key: opts.tlsKey }, { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' }));
} catch (err) {
  if (!(err instanceof TlsFilesError)) throw err;
  usageError(NAME, err.message);
}
let client = new DhtClient(opts.addr, opts.timeout, credentials);
const node = (n: NodeInfo) => `${n.id}  ${n.addr}`;
const LABEL = 19;
const numbered = (label: string, list: readonly NodeInfo[]) =>
  list.length ? list.map((n, i) => `${(i ? '' : label).padEnd(LABEL)}${String(i + 1).padStart(2)}  ${node(n)}`) : [`${label.padEnd(LABEL)}(none)`];

await runRepl({
  prompt: 'koorde> ',
  commands: {
    put: {
      usage: 'put <key> <value>',
      help: 'store a value (the rest of the line is the value)',
      minArgs: 2,
      restIsOne: true,
      run: async ([key, value]) => {
        await client.put(key!, value!);
        return 'ok';
      },
    },
    get: { usage: 'get <key>', help: 'read a value', minArgs: 1, run: async ([key]) => client.get(key!) },
    delete: {
      usage: 'delete <key>',
      help: 'delete a key',
      minArgs: 1,
      run: async ([key]) => {
        await client.delete(key!);
        return 'deleted';
      },
    },
    lookup: {
      usage: 'lookup <hex id>',
      help: 'which node owns an identifier',
      minArgs: 1,
      run: async ([id]) => {
        const found = await client.lookup(id!);
        return `${id} → ${node(found.successor)}${found.hops === undefined ? '' : `  (${found.hops} hops)`}`;
      },
    },
    getrt: {
      usage: 'getrt',
      help: "the node's routing table",
      minArgs: 0,
      run: async () => {
        const rt = await client.routingTable();
        return [
          `${'self'.padEnd(LABEL + 4)}${node(rt.self)}`,
          `${'predecessor'.padEnd(LABEL + 4)}${rt.predecessor ? node(rt.predecessor) : '(none)'}`,
          ...numbered('successors', rt.successors),
          ...numbered('de Bruijn/fingers', rt.de_bruijn_list),
        ].join('\n');
      },
    },
    getstore: {
      usage: 'getstore',
      help: 'the pairs this node holds (own range and replicas)',
      minArgs: 0,
      run: async () => {
        const items = await client.store();
        return [...items.map((i) => `${i.key} = ${i.value}  (${i.id})`), `${items.length} item${items.length === 1 ? '' : 's'}`].join('\n');
      },
    },
    use: {
      usage: 'use <host:port>',
      help: 'talk to another node',
      minArgs: 1,
      run: async ([addr]) => {
        client.close();
        client = new DhtClient(addr!, opts.timeout, credentials);
        return `now using ${addr}`;
      },
    },
  },
  explain: (err) => (err instanceof ClientError ? `error: ${err.kind} — ${err.message}` : `error: ${(err as Error).message}`),
  onExit: () => client.close(),
});
