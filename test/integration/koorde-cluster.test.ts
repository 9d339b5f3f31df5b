import assert from 'node:assert/strict';
import { get } from 'node:http';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { reservedClusterBase } from '../helpers/ports.js';
import { descendantsOf, freePorts, isRunning, ProcessGroup, waitFor } from '../helpers/processes.js';

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** The headers of a GET on a connection of its own: the balancer picks a node per connection. */
function headersOnNewConnection(url: string): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers));
    }).on('error', reject);
  });
}

describe('koorde-cluster - a local cluster in one command', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('starts, serves a cached object through the balancer, shows every node, and Ctrl-C leaves nothing behind', async () => {
    const nodes = 4;
    const base = await reservedClusterBase(nodes);
    const [lb, origin] = await freePorts(2);
    const cluster = group.node('koorde-cluster', 'dist/cli/koorde-cluster.js', [
      'up', '--nodes', String(nodes), '--base-port', String(base), '--lb-port', String(lb), '--origin', '--origin-port', String(origin), '--protocol', 'chord',
    ], { STABILIZATION_INTERVAL: '250ms', FINGER_FIX_INTERVAL: '500ms' });
    await waitFor('READY', async () => /^READY$/m.test(cluster.output()), 60_000);

    const url = `http://127.0.0.1:${lb}/cache?url=${encodeURIComponent(`http://127.0.0.1:${origin}/obj/42`)}`;
    const first = await fetch(url);
    assert.equal(first.status, 200);
    assert.match(first.headers.get('x-cache')!, /^MISS-/);
    await first.text();
    const seen = new Set<string>();
    for (let i = 0; i < nodes; i++) {
      const again = await headersOnNewConnection(url);
      assert.match(String(again['x-cache']), /^HIT-/);
      seen.add(String(again['x-entry-node']));
    }
    assert.equal(seen.size, nodes, 'round robin reached every node');

    const status = group.node('status', 'dist/cli/koorde-cluster.js', ['status', '--addr', `http://127.0.0.1:${lb}`]);
    assert.equal(await status.exited, 0);
    assert.match(status.output(), new RegExp(`^chord ring of ${nodes} nodes; largest share [0-9.]+× the mean$`, 'm'));
    for (let i = 0; i < nodes; i++) assert.match(status.output(), new RegExp(`^127\\.0\\.0\\.1:${base + i} +0x[0-9a-f]+ +[0-9.]+ % +READY`, 'm'));

    // The seed guide's workload command, without --url-template: the cluster's advertised demo origin is used.
    const workload = group.node('workload', 'dist/cli/cache-workload.js', [
      '--target', `http://127.0.0.1:${lb}`, '--urls', '20', '--requests', '40', '--rate', '100', '--zipf', '1.2', '--json', '--output', '-',
    ]);
    assert.equal(await workload.exited, 0, workload.output());
    assert.match(workload.output(), new RegExp(`URLs of http://127\\.0\\.0\\.1:${origin}/obj/\\{i\\}`));
    const summary = /^\{$[\s\S]*?^\}$/m.exec(workload.output())![0];
    assert.equal((JSON.parse(summary) as { ok: number }).ok, 40, workload.output());

    cluster.child.kill('SIGINT');
    assert.equal(await cluster.exited, 0);
    const ports = [lb!, origin!, ...Array.from({ length: nodes }, (_, i) => [base + i, base + 1000 + i]).flat()];
    assert.deepEqual((await Promise.all(ports.map(refuses))).every(Boolean), true, 'every node, the balancer and the origin are gone');
  });

  it('when koorde-cluster is SIGKILLed, every node it started exits too', async () => {
    const nodes = 3;
    const base = await reservedClusterBase(nodes);
    const [lb] = await freePorts(1);
    const cluster = group.node('koorde-cluster', 'dist/cli/koorde-cluster.js', ['up', '--nodes', String(nodes), '--base-port', String(base), '--lb-port', String(lb)], {
      STABILIZATION_INTERVAL: '250ms',
    });
    await waitFor('READY', async () => /^READY$/m.test(cluster.output()), 60_000);
    const children = descendantsOf([cluster.child.pid!]);
    assert.equal(children.length, nodes, 'one process per node');

    cluster.child.kill('SIGKILL');
    await cluster.exited;
    await waitFor('every node to exit', async () => children.every((pid) => !isRunning(pid)), 10_000);
    // isRunning counts a zombie main thread as gone; on a loaded machine the process's other
    // threads may still hold its sockets for a moment.
    const ports = Array.from({ length: nodes }, (_, i) => base + 1000 + i);
    await waitFor('no node to listen', async () => (await Promise.all(ports.map(refuses))).every(Boolean), 10_000);
  });

  it('exits 2 with a one-line reason on bad arguments', async () => {
    for (const args of [['up', '--protocol', 'pastry'], ['up', '--degree', '16', '--bits', '66'], ['up', '--nodes', '0']]) {
      const proc = group.node('bad', 'dist/cli/koorde-cluster.js', args);
      assert.equal(await proc.exited, 2, args.join(' '));
      assert.equal(proc.output().trim().split('\n').length, 1, proc.output());
    }
  });
});
