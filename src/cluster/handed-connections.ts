import type { ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';

/*
 * Client connections the local cluster's balancer (load-balancer.ts) accepted and hands whole to
 * a node process, over the IPC channel the cluster gives each node: the connection is then the
 * node's own socket, so no process relays its bytes (as none does behind the AWS NLB).
 */

/** The message a handed connection comes with. */
const HANDED_CONNECTION = 'koorde:connection';

/** The `stdio` entry after the others that gives a child the channel. */
export const HAND_OFF_STDIO = 'ipc';

/**
 * Hands `socket`, not read from yet (a server with `pauseOnConnect`), to `child`, and closes this
 * process's copy of it once sent. Resolves false when the child cannot take it (it exited, its
 * channel closed): the socket is then still the caller's, whole, to hand to another. (Node would
 * detach it before knowing whether the send succeeds, unless told to keep it open.)
 */
export function handConnection(child: ChildProcess, socket: Socket): Promise<boolean> {
  if (!child.connected) return Promise.resolve(false);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (handed: boolean) => {
      if (settled) return;
      settled = true;
      child.off('disconnect', gone).off('exit', gone);
      if (handed) socket.destroy(); // closes only this process's descriptor: the connection is the child's
      resolve(handed);
    };
    // Node sends a socket only once the child has acknowledged the one before, and forgets the
    // sends still waiting when the child dies, without calling them back.
    const gone = () => settle(false);
    child.once('disconnect', gone).once('exit', gone);
    try {
      child.send(HANDED_CONNECTION, socket, { keepOpen: true }, (err) => settle(!err));
    } catch {
      settle(false); // the channel closed between the check and the send
    }
  });
}

/**
 * In a node process: passes every connection handed to it to `serve`. Does nothing when the
 * process has no channel (not started by a local cluster), and never keeps the process alive.
 */
export function whenConnectionHanded(serve: (socket: Socket) => void): void {
  if (!process.send) return;
  process.on('message', (message: unknown, handle: unknown) => {
    if (!(handle instanceof Socket)) return;
    if (message !== HANDED_CONNECTION) return void handle.destroy();
    // What node:http's own listener sets on the connections it accepts.
    handle.setNoDelay(true);
    serve(handle);
  });
  process.channel?.unref();
}
