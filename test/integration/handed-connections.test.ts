import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { handConnection } from '../../src/cluster/handed-connections.js';
import { ProcessGroup, waitFor, type Managed } from '../helpers/processes.js';

/** A node stand-in: answers every connection handed to it with its name and closes it. */
const TAKER = `
import { whenConnectionHanded } from ${JSON.stringify(new URL('../../src/cluster/handed-connections.ts', import.meta.url).href)};
whenConnectionHanded((socket) => socket.end(process.argv.at(-1)));
setInterval(() => {}, 60_000); // the channel does not keep a node alive; its servers do
process.on('disconnect', () => process.exit(1)); // the test process died, however it died
process.stdout.write('ready\\n');
`;

/** What a client reads until the connection closes. */
async function readAll(client: Socket): Promise<string> {
  let text = '';
  client.on('data', (d: Buffer) => (text += d.toString()));
  client.on('error', () => {}); // a connection that died with its node reads as closed
  await once(client, 'close');
  return text;
}

describe('koorde-cluster balancer - handing connections to node processes', () => {
  const group = new ProcessGroup();
  const server = createServer({ pauseOnConnect: true });
  after(async () => {
    server.close();
    await group.stopAll();
  });

  it('a connection waiting to be handed to a node that dies stays whole, and another node serves it', { timeout: 30_000 }, async () => {
    const start = async (name: string): Promise<Managed> => {
      const proc = group.spawn(name, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', TAKER, name], {}, { channel: true });
      await waitFor(name, async () => proc.output().includes('ready'));
      return proc;
    };
    const [a, b] = [await start('node-a'), await start('node-b')];
    const accepted: Socket[] = [];
    server.on('connection', (socket) => accepted.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const open = async () => {
      const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
      await waitFor('the connection accepted', async () => accepted.length > 0);
      return { client, socket: accepted.shift()! };
    };

    // Stopped, node A cannot acknowledge the first connection, so Node holds the second back.
    a.child.kill('SIGSTOP');
    const first = await open();
    const firstAnswer = readAll(first.client);
    assert.equal(await handConnection(a.child, first.socket), true);
    const second = await open();
    const handing = handConnection(a.child, second.socket);
    a.child.kill('SIGKILL');
    await a.exited;
    assert.equal(await handing, false, 'the waiting hand-off ends when the node dies');

    const answer = readAll(second.client);
    assert.equal(await handConnection(b.child, second.socket), true);
    assert.equal(await answer, 'node-b');
    assert.equal(await firstAnswer, '', 'the connection handed to the dead node closes');
  });
});
