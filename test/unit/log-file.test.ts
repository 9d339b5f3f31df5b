import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { loadSettings } from '../../src/config/load.js';
import { closeLogFile, openLogFile, type LogFile } from '../../src/server/log-file.js';
import { waitFor } from '../helpers/processes.js';

const MIB = 1024 * 1024;
const ROTATED = /^node-\d{8}-\d{6}-\d+\.log(\.gz)?$/;

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function logDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'koorde-logs-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string, env: Record<string, string>): Promise<LogFile> {
  return openLogFile(loadSettings({ LOGGER_MODE: 'file', LOGGER_FILE_PATH: join(dir, 'node.log'), LOGGER_FILE_MAX_SIZE: '1', ...env }));
}

/** One short line to find again, then enough filler to pass LOGGER_FILE_MAX_SIZE=1 and rotate. */
async function writeAndRotate(file: LogFile, mark: string): Promise<void> {
  const write = (line: string) => new Promise<void>((resolve, reject) => file.write(line, (err) => (err ? reject(err) : resolve())));
  await write(`${JSON.stringify({ msg: mark })}\n`);
  await write(`${JSON.stringify({ msg: 'x'.repeat(MIB) })}\n`);
}

const rotatedFiles = (dir: string) => readdirSync(dir).filter((f) => ROTATED.test(f)).sort();

/** The marks (msg fields other than filler) of a log file, gunzipped if it ends in .gz. */
function marks(path: string): string[] {
  const text = path.endsWith('.gz') ? gunzipSync(readFileSync(path)).toString() : readFileSync(path, 'utf8');
  return text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => !m.startsWith('xxx'));
}

function ageDays(path: string, days: number): void {
  const when = new Date(Date.now() - days * 24 * 60 * 60 * 1000);
  utimesSync(path, when, when);
}

describe('logging - LOGGER_MODE=file through rotating-file-stream', () => {
  it('rotates past LOGGER_FILE_MAX_SIZE MiB to dated names and keeps only the newest LOGGER_FILE_MAX_BACKUPS', async () => {
    const dir = logDir();
    const file = await open(dir, { LOGGER_FILE_MAX_BACKUPS: '2', LOGGER_FILE_COMPRESS: 'false' });
    for (const mark of ['one', 'two', 'three', 'four']) await writeAndRotate(file, mark);
    file.write('{"msg":"live"}\n');
    await closeLogFile(file);
    const rotated = rotatedFiles(dir);
    assert.equal(rotated.length, 2, rotated.join(' '));
    // Four rotations in about a second: the counter after the time keeps every name apart.
    assert.deepEqual(rotated.map((f) => marks(join(dir, f))).flat().sort(), ['four', 'three']);
    assert.ok(rotated.every((f) => f.endsWith('.log')));
    assert.deepEqual(marks(join(dir, 'node.log')), ['live']);
  });

  it('gzips rotated files with LOGGER_FILE_COMPRESS=true and keeps them all with LOGGER_FILE_MAX_BACKUPS=0', async () => {
    const dir = logDir();
    const file = await open(dir, { LOGGER_FILE_MAX_BACKUPS: '0', LOGGER_FILE_COMPRESS: 'true' });
    for (const mark of ['one', 'two', 'three', 'four']) await writeAndRotate(file, mark);
    await closeLogFile(file);
    const rotated = rotatedFiles(dir);
    assert.equal(rotated.length, 4, rotated.join(' '));
    assert.ok(rotated.every((f) => f.endsWith('.log.gz')), rotated.join(' '));
    assert.deepEqual(rotated.map((f) => marks(join(dir, f))).flat().sort(), ['four', 'one', 'three', 'two']);
  });

  it('removes rotated files older than LOGGER_FILE_MAX_AGE days at start and after a rotation; younger ones, the live file and other files stay', async () => {
    const dir = logDir();
    const old = ['node-20200101-000000-1.log', 'node-20200102-000000-1.log.gz'];
    const young = 'node-20200103-000000-1.log';
    // Old too, but not this log's rotated files: the live file, a rotation of gateway-node.log, copies by hand.
    const others = ['node.log', 'gateway-node-20200101-000000-1.log', 'node-20200101-000000-1.log.old', 'node.log.bak', 'node-copy.log'];
    for (const name of [...old, young, ...others]) {
      writeFileSync(join(dir, name), '{"msg":"before"}\n');
      ageDays(join(dir, name), name === young ? 5 : 10);
    }
    const file = await open(dir, { LOGGER_FILE_MAX_AGE: '7', LOGGER_FILE_MAX_BACKUPS: '0' });
    for (const name of old) assert.equal(existsSync(join(dir, name)), false, `${name} removed at start`);
    assert.ok(existsSync(join(dir, young)));

    ageDays(join(dir, young), 8);
    await writeAndRotate(file, 'fresh');
    await waitFor(`${young} removed after the rotation`, async () => !existsSync(join(dir, young)));
    await closeLogFile(file);
    const rotated = rotatedFiles(dir);
    assert.equal(rotated.length, 1, rotated.join(' '));
    assert.deepEqual(marks(join(dir, rotated[0]!)), ['before', 'fresh']);
    for (const name of others) assert.ok(existsSync(join(dir, name)), `${name} kept`);
  });

  it('LOGGER_FILE_MAX_AGE=0 removes nothing by age', async () => {
    const dir = logDir();
    const ancient = join(dir, 'node-20000101-000000-1.log');
    writeFileSync(ancient, '{"msg":"ancient"}\n');
    ageDays(ancient, 10_000);
    const file = await open(dir, { LOGGER_FILE_MAX_AGE: '0', LOGGER_FILE_MAX_BACKUPS: '0' });
    await writeAndRotate(file, 'fresh');
    await closeLogFile(file);
    assert.ok(existsSync(ancient));
    assert.equal(rotatedFiles(dir).length, 2);
  });

  it('closeLogFile returns for a file that already failed, so a leave still exits', async () => {
    const file = await open(logDir(), {});
    file.destroy(new Error('disk full'));
    await new Promise<void>((resolve) => file.once('close', () => resolve()));
    await closeLogFile(file);
  });
});
