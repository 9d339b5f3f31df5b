import type { Server } from 'node:net';

/**
 * Pending connections the kernel may hold for a server (capped by net.core.somaxconn). Node's
 * default of 511 overflows when hundreds of clients connect while the event loop is busy; the
 * kernel then drops their SYNs and they retry after 1, 3, 7 s — seconds of latency from a queue
 * that could simply have been longer.
 */
const LISTEN_BACKLOG = 4096;

/** Listens on host:port with a backlog that absorbs bursts of new connections. */
export function listenHttp(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => server.once('error', reject).listen({ port, host, backlog: LISTEN_BACKLOG }, resolve));
}
