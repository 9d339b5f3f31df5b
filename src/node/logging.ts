import { Writable } from 'node:stream';
import { pino, type Logger as Pino } from 'pino';
import type { Settings } from '../config/settings.js';

/** A pino logger as LOGGER_* say: JSON lines (for collectors) or readable console lines. */
export function createLogger(settings: Settings, bindings: Record<string, unknown>): Pino {
  const fd = settings.loggerMode === 'stderr' ? 2 : 1;
  const level = settings.loggerEnabled ? settings.loggerLevel : 'silent';
  const destination = settings.loggerEncoding === 'console' ? consoleLines(fd) : pino.destination({ fd, sync: false });
  return pino({ level, base: bindings, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Turns pino's JSON lines into `time LEVEL message key=value …`. */
function consoleLines(fd: number): Writable {
  const out = fd === 2 ? process.stderr : process.stdout;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const { time, level, msg, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
        out.write(`${String(time).slice(11, 23)} ${(LEVELS[level as number] ?? level) as string} ${msg ?? ''} ${fields.join(' ')}\n`);
      }
      done();
    },
  });
}
