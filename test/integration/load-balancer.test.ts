import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { LoadBalancer } from '../../src/cluster/load-balancer.js';
import { freePorts, ProcessGroup, waitFor, type Managed } from '../helpers/processes.js';

/**
 * A node stand-in: GET /health is 200, every other path answers its name after a few ms (so
 * requests are in flight); it serves the connections the balancer hands it as a node does.
 */
const BACKEND = `
import { createServer } from 'node:http';
import { whenConnectionHanded } from ${JSON.stringify(new URL('../../src/cluster/handed-connections.ts', import.meta.url).href)};
const [port, name] = process.argv.slice(-2);
const server = createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  res.setHeader('x-client-port', String(req.socket.remotePort));
  setTimeout(() => res.end(name), 3);
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\\n'));
whenConnectionHanded((socket) => server.emit('connection', socket));
process.on('disconnect', () => process.exit(1)); // the test process died, however it died
`;

/** One GET on a connection of its own, so the balancer picks a node for it. */
function freshGet(port: number): Promise<{ status: number; body: string; clientPort: number; seenPort?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, clientPort: req.socket!.localPort!, seenPort: res.headers['x-client-port'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('koorde-cluster balancer - layer 4, hands connections over, health-checked, fails over', () => {
  const group = new ProcessGroup();
  let balancer: LoadBalancer | undefined;
  after(async () => {
    balancer?.close();
    await group.stopAll();
  });

  it('a node SIGKILLed under load costs only its in-flight requests; it returns when healthy; no node gives a 503', async () => {
    const [lbPort, ...ports] = await freePorts(4);
    const start = async (i: number): Promise<Managed> => {
      const proc = group.spawn(`backend-${i}`, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', BACKEND, String(ports[i]), `node-${i}`], {}, { channel: true });
      await waitFor(`backend ${i}`, async () => proc.output().includes('listening'));
      return proc;
    };
    const backends = [await start(0), await start(1), await start(2)];
    balancer = new LoadBalancer(() => backends.map((b, i) => ({ http: `http://127.0.0.1:${ports[i]}`, child: b.child })));
    await balancer.listen(lbPort!);
    assert.equal(balancer.healthyCount(), 3);

    // The node serves the client's own connection: nothing relays it.
    const first = await freshGet(lbPort!);
    assert.equal(first.status, 200);
    assert.equal(first.seenPort, String(first.clientPort));

    // Closed-loop load over keep-alive connections, as a benchmark client would send it.
    const concurrency = 16;
    const agent = new Agent({ connections: concurrency });
    let failures = 0;
    let stopLoad = false;
    const answeredBy: string[] = [];
    const worker = async () => {
      while (!stopLoad) {
        try {
          const { statusCode, body } = await request(`http://127.0.0.1:${lbPort}/`, { dispatcher: agent });
          const text = await body.text();
          if (statusCode === 200) answeredBy.push(text);
          else failures++;
        } catch {
          failures++;
        }
      }
    };
    const load = Promise.all(Array.from({ length: concurrency }, worker));
    await waitFor('load on every node', async () => new Set(answeredBy).size === 3);

    backends[1]!.child.kill('SIGKILL');
    await backends[1]!.exited;
    const answeredAtKill = answeredBy.length;
    await waitFor('the dead node out of rotation', async () => balancer!.healthyCount() === 2);
    await waitFor('200 more answers', async () => answeredBy.length > answeredAtKill + 200);
    stopLoad = true;
    await load;
    await agent.close();
    assert.ok(failures <= concurrency, `${failures} requests failed; at most the ${concurrency} in flight may`);
    assert.ok(!answeredBy.slice(-100).includes('node-1'), 'the killed node answers nothing');

    // New connections right after a kill go to live nodes even before a health check notices.
    backends[0]!.child.kill('SIGKILL');
    await backends[0]!.exited;
    for (let i = 0; i < 6; i++) assert.equal((await freshGet(lbPort!)).body, 'node-2');

    backends[1] = await start(1);
    await waitFor('the restarted node back in rotation', async () => balancer!.healthyCount() === 2);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await freshGet(lbPort!)).body);
    assert.deepEqual([...seen].sort(), ['node-1', 'node-2']);

    backends[1]!.child.kill('SIGKILL');
    backends[2]!.child.kill('SIGKILL');
    await Promise.all([backends[1]!.exited, backends[2]!.exited]);
    await balancer.refresh();
    const refused = await freshGet(lbPort!);
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(refused.body).error, 'no_backend');
  });
});
