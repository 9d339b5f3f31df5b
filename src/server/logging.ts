import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import type { Settings } from '../config/settings.js';

/**
 * A pino logger as LOGGER_* say: JSON lines (for collectors) or readable console lines, to
 * stdout, stderr, or the rotating file of LOGGER_MODE=file (opened by the caller: see log-file.ts).
 */
export function createLogger(settings: Settings, bindings: Record<string, unknown>, file?: Writable): Pino {
  const out: Writable = file ?? (settings.loggerMode === 'stderr' ? process.stderr : process.stdout);
  const level = settings.loggerEnabled ? settings.loggerLevel : 'silent';
  const destination: DestinationStream =
    settings.loggerEncoding === 'console' ? consoleLines(out) : file ?? pino.destination({ fd: settings.loggerMode === 'stderr' ? 2 : 1, sync: false });
  return pino({ level, base: bindings, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Turns pino's JSON lines into `time LEVEL message key=value …`. */
function consoleLines(out: Writable): Writable {
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
