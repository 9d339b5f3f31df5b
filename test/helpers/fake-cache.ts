import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** What the fake answers to one request. */
export interface FakeAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Answer after this long (the test's own real-time delay; 0 = at once). */
  readonly delayMs?: number;
  /** Drop the connection instead of answering. */
  readonly reset?: boolean;
}

/** One request the fake received: the order it came in and what it answered. */
export interface FakeRequest {
  readonly path: string;
  /** The `url` query parameter of /cache, decoded; undefined for other paths. */
  readonly objectUrl?: string;
  readonly answer: FakeAnswer;
}

export interface FakeCache {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly requests: readonly FakeRequest[];
  close(): Promise<void>;
}

/**
 * A stand-in for a cache node on 127.0.0.1 (port 0) that answers each request as `respond` says,
 * and logs what it got, so tests count at the target rather than trusting the generator.
 */
export async function startFakeCache(respond: (path: string, objectUrl: string | undefined) => FakeAnswer): Promise<FakeCache> {
  const requests: FakeRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const objectUrl = url.pathname === '/cache' ? (url.searchParams.get('url') ?? undefined) : undefined;
    const answer = respond(url.pathname, objectUrl);
    requests.push({ path: `${url.pathname}${url.search}`, objectUrl, answer });
    const send = () => {
      if (answer.reset) req.socket.destroy();
      else res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.body ?? 'ok');
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs);
    else send();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
