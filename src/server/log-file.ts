import { once } from 'node:events';
import type { Writable } from 'node:stream';
import build from 'pino-roll';
import type { Settings } from '../config/settings.js';

export type LogFile = Awaited<ReturnType<typeof build>>;

/**
 * LOGGER_MODE=file: a pino-roll stream. LOGGER_FILE_PATH `/var/log/koorde/node.log` writes
 * node.1.log, node.2.log, … beside it (a new number per LOGGER_FILE_MAX_SIZE MiB), keeps
 * LOGGER_FILE_MAX_BACKUPS of them besides the current one (0 = keep all) and points the
 * `current.log` symlink in that directory at the file being written.
 */
export function openLogFile(settings: Settings): Promise<LogFile> {
  return build({
    file: settings.loggerFilePath,
    size: `${settings.loggerFileMaxSizeMB}m`,
    mkdir: true,
    symlink: true,
    ...(settings.loggerFileMaxBackups > 0 ? { limit: { count: settings.loggerFileMaxBackups } } : {}),
  });
}

/** Reference settings pino-roll has no equivalent for: said once at start, never dropped silently. */
export function unappliedLogFileSettings(settings: Settings): string[] {
  const notes: string[] = [];
  if (settings.loggerFileMaxAgeDays > 0) notes.push(`LOGGER_FILE_MAX_AGE=${settings.loggerFileMaxAgeDays}: rotated files are removed by count (LOGGER_FILE_MAX_BACKUPS), not by age`);
  if (settings.loggerFileCompress) notes.push('LOGGER_FILE_COMPRESS=true: rotated files stay uncompressed');
  return notes;
}

/** Writes out what is buffered and closes the file; call right before the process exits. */
export async function closeLogFile(file: Writable): Promise<void> {
  const closed = once(file, 'close');
  file.end();
  await closed;
}
