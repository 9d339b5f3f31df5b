import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSettings } from '../../src/config/load.js';
import { closeLogFile, openLogFile, unappliedLogFileSettings } from '../../src/server/log-file.js';
import { waitFor } from '../helpers/processes.js';

describe('logging - LOGGER_MODE=file through pino-roll', () => {
  it('rolls at LOGGER_FILE_MAX_SIZE MiB, keeps LOGGER_FILE_MAX_BACKUPS old files, and points current.log at the live one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koorde-logs-'));
    const settings = loadSettings({ LOGGER_MODE: 'file', LOGGER_FILE_PATH: join(dir, 'node.log'), LOGGER_FILE_MAX_SIZE: '1', LOGGER_FILE_MAX_BACKUPS: '1' });
    const file = await openLogFile(settings);
    const current = () => readlinkSync(join(dir, 'current.log'));
    assert.equal(current(), 'node.1.log');
    // Three writes of just over 1 MiB: each fills a file, which then rolls to the next number.
    for (let n = 2; n <= 4; n++) {
      file.write(`${JSON.stringify({ msg: 'x'.repeat(1024 * 1024) })}\n`);
      await waitFor(`the roll to node.${n}.log`, async () => current() === `node.${n}.log`);
    }
    file.write('{"msg":"last"}\n');
    await closeLogFile(file);
    const logs = () => readdirSync(dir).filter((f) => /^node\.\d+\.log$/.test(f)).sort();
    await waitFor('old files beyond the one backup removed', async () => logs().length === 2);
    assert.deepEqual(logs(), ['node.3.log', 'node.4.log']);
    assert.ok(readFileSync(join(dir, 'node.3.log'), 'utf8').length >= 1024 * 1024);
    assert.equal(readFileSync(join(dir, 'node.4.log'), 'utf8'), '{"msg":"last"}\n');
  });

  it('says which reference settings the transport cannot apply instead of dropping them silently', () => {
    const notes = unappliedLogFileSettings(loadSettings({ LOGGER_MODE: 'file', LOGGER_FILE_PATH: '/tmp/x.log', LOGGER_FILE_MAX_AGE: '7', LOGGER_FILE_COMPRESS: 'true' }));
    assert.equal(notes.length, 2);
    assert.match(notes[0]!, /^LOGGER_FILE_MAX_AGE=7: rotated files are removed by count/);
    assert.match(notes[1]!, /^LOGGER_FILE_COMPRESS=true/);
    assert.deepEqual(unappliedLogFileSettings(loadSettings({ LOGGER_FILE_MAX_AGE: '0' })), []);
  });
});
