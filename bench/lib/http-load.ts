/**
 * A closed-loop HTTP load generator for machines without wrk, run in a process of its own:
 *   node --import tsx bench/lib/http-load.ts <base-url> <paths-file> <connections> <seconds>
 * Each connection sends the next path as soon as the last answer is read. Prints one JSON line
 * with the figures bench/hitpath.ts reads from wrk.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

const [base, pathsFile, connectionsArg, secondsArg] = process.argv.slice(2);
const paths = readFileSync(pathsFile!, 'utf8').split('\n').filter(Boolean);
const connections = Number(connectionsArg);
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const url = new URL(base!);
const latenciesUs: number[] = [];
let non2xx = 0;
let errors = 0;
let next = 0;
const end = performance.now() + 1000 * Number(secondsArg);

function once(path: string): Promise<void> {
  const began = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode! < 200 || res.statusCode! >= 400) non2xx++;
        latenciesUs.push(1000 * (performance.now() - began));
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end();
  });
}

const started = performance.now();
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (performance.now() < end) await once(paths[next++ % paths.length]!);
  }),
);
const seconds = (performance.now() - started) / 1000;
latenciesUs.sort((a, b) => a - b);
const at = (q: number) => latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(q * latenciesUs.length))] ?? 0;
agent.destroy();
process.stdout.write(JSON.stringify({ rps: latenciesUs.length / seconds, p50_ms: at(0.5) / 1000, p99_ms: at(0.99) / 1000, non2xx, errors }) + '\n');
