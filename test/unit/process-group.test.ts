import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcessGroup, waitFor } from '../helpers/processes.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('test helpers - process groups', () => {
  it('stopAll also ends what a child started, as koorde-cluster starts its nodes', async () => {
    const group = new ProcessGroup();
    const script = "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);";
    const parent = group.spawn('parent', process.execPath, ['-e', script]);
    await waitFor('the grandchild pid', async () => /^\d+$/m.test(parent.output()));
    const grandchild = Number(parent.output().trim());
    assert.ok(alive(grandchild));
    await group.stopAll();
    await waitFor('the grandchild gone', async () => !alive(grandchild));
  });
});
