import { Socket } from 'node:net';

/**
 * Children of a local cluster get one extra pipe at this file descriptor, named in
 * PARENT_PIPE_ENV. The parent never writes to it; the kernel closes it when the parent dies,
 * however it dies (SIGKILL included), which a signal handler in the parent could never cover.
 */
export const PARENT_PIPE_FD = 3;
export const PARENT_PIPE_ENV = 'KOORDE_PARENT_PIPE_FD';

/** The `stdio` entry that gives a child the pipe. */
export const PARENT_PIPE_STDIO = ['ignore', 'pipe', 'pipe', 'pipe'] as const;

/**
 * Calls `onParentGone` once the pipe named in `env` closes; does nothing when the process was not
 * started with one (run by hand, by systemd, in a pod). Does not keep the process alive.
 */
export function whenParentGone(env: NodeJS.ProcessEnv, onParentGone: () => void): void {
  const fd = env[PARENT_PIPE_ENV];
  if (fd !== String(PARENT_PIPE_FD)) return;
  const pipe = new Socket({ fd: PARENT_PIPE_FD, readable: true, writable: false });
  let called = false;
  const gone = () => {
    if (called) return;
    called = true;
    onParentGone();
  };
  pipe.on('end', gone);
  pipe.on('close', gone);
  pipe.on('error', gone);
  pipe.resume();
  pipe.unref();
}
