import { once } from 'node:events';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { Settings } from '../config/settings.js';

export type LogFile = RotatingFileStream;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * LOGGER_MODE=file, rotated by rotating-file-stream. LOGGER_FILE_PATH `/var/log/koorde/node.log` is
 * the live file. Past LOGGER_FILE_MAX_SIZE MiB it moves to `node-YYYYMMDD-HHMMSS-N.log` beside it
 * (UTC time of the rotation; N = 1, 2, … tells apart rotations within one second), gzipped to
 * `….log.gz` with LOGGER_FILE_COMPRESS, and a new live file starts. The library keeps the newest
 * LOGGER_FILE_MAX_BACKUPS rotated files (0 = all), listing them in `node.log.history`; rotated files
 * last written more than LOGGER_FILE_MAX_AGE days ago (0 = no limit) are removed here, at start and
 * after each rotation. Failures of the file after it opened go to stderr: the log cannot hold them.
 */
export async function openLogFile(settings: Settings): Promise<LogFile> {
  const path = settings.loggerFilePath;
  const live = basename(path);
  const ext = extname(live);
  const stem = live.slice(0, live.length - ext.length);
  const gz = settings.loggerFileCompress ? '.gz' : '';
  const file = createStream((time, index) => (time instanceof Date ? `${stem}-${utcStamp(time)}-${index ?? 1}${ext}${gz}` : live), {
    path: dirname(path),
    size: `${settings.loggerFileMaxSizeMB}M`,
    ...(settings.loggerFileMaxBackups > 0 ? { maxFiles: settings.loggerFileMaxBackups, history: `${live}.history` } : {}),
    ...(settings.loggerFileCompress ? { compress: 'gzip' as const } : {}),
  });
  await once(file, 'open');
  const report = (err: Error) => process.stderr.write(`log file ${path}: ${err.message}\n`);
  file.on('error', report).on('warning', report);
  if (settings.loggerFileMaxAgeDays > 0) {
    // Only names this log's rotations take: never the live file, another log or anything else there.
    const rotated = new RegExp(`^${escapeRegExp(stem)}-\\d{8}-\\d{6}-\\d+${escapeRegExp(ext)}(\\.gz)?$`);
    const prune = () => removeOlderThan(dirname(path), rotated, settings.loggerFileMaxAgeDays * DAY_MS).catch(report);
    file.on('rotated', () => void prune());
    await prune();
  }
  return file;
}

/** Writes out what is buffered and closes the file; call right before the process exits. */
export async function closeLogFile(file: Writable): Promise<void> {
  // A file that failed is closed already: waiting for its 'close' would keep the process from exiting.
  if (file.closed) return;
  const closed = once(file, 'close');
  file.end();
  await closed;
}

/** Removes the regular files of `dir` named by `pattern` and last modified more than `maxAgeMs` ago. */
async function removeOlderThan(dir: string, pattern: RegExp, maxAgeMs: number): Promise<void> {
  const cutoff = Date.now() - maxAgeMs;
  for (const name of await readdir(dir)) {
    if (!pattern.test(name)) continue;
    const path = join(dir, name);
    // The library may remove the same file for LOGGER_FILE_MAX_BACKUPS meanwhile: gone is fine.
    const stats = await lstat(path).catch(ignoreMissing);
    if (stats?.isFile() && stats.mtimeMs < cutoff) await unlink(path).catch(ignoreMissing);
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): undefined {
  if (err.code !== 'ENOENT') throw err;
  return undefined;
}

/** 2026-12-02T04:15:09Z → 20261202-041509 */
function utcStamp(time: Date): string {
  return time.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
