import { createServer } from 'node:net';

/**
 * A base port b such that b … b+count−1 and b+1000 … b+1000+count−1 are free on 127.0.0.1: the
 * layout of a local cluster (gRPC ports from the base, HTTP ports 1000 higher).
 */
export async function freeClusterBase(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, i) => [base + i, base + 1000 + i]).flat();
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error(`no free range of ${count} ports found`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
