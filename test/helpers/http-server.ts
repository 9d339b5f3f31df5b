import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  readonly server: Server;
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Every request the server received, in order. */
  readonly requests: IncomingMessage[];
  /** Ends every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * An HTTP server on a loopback address (port 0) for one test file. Register `close` in an
 * `after` hook right after starting it.
 */
export async function startHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, host = '127.0.0.1'): Promise<TestServer> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, requests, close };
}
