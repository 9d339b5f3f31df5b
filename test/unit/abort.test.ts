import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { abortable, whenAborted } from '../../src/runtime/abort.js';

describe('runtime - abort helpers', () => {
  it('abortable rejects at once with the reason, cancels the work and ignores its late answer', async () => {
    const controller = new AbortController();
    let cancelled = 0;
    let answer: ((value: string) => void) | undefined;
    const work = abortable<string>(controller.signal, (resolve) => {
      answer = resolve;
      return () => cancelled++;
    });
    const reason = new Error('gave up');
    controller.abort(reason);
    answer!('too late');
    await assert.rejects(work, (err) => err === reason);
    assert.equal(cancelled, 1);
  });

  it('abortable starts nothing for a signal that has already aborted', async () => {
    let started = false;
    const reason = new Error('already gone');
    await assert.rejects(
      abortable(AbortSignal.abort(reason), () => {
        started = true;
      }),
      (err) => err === reason,
    );
    assert.equal(started, false);
  });

  it('every watcher of a signal hears its abort once, with the reason, except those that stopped', () => {
    const connection = new AbortController();
    const heard: unknown[][] = [[], [], []];
    const stops = heard.map((list) => whenAborted(connection.signal, (reason) => list.push(reason)));
    stops[1]!();
    const reason = new Error('the client went away');
    connection.abort(reason);
    connection.abort(new Error('again'));
    assert.deepEqual(heard, [[reason], [], [reason]]);
  });

  it('a settled call leaves no listener on a long-lived signal', async () => {
    const shutdown = new AbortController();
    for (let i = 0; i < 20; i++) {
      await abortable<number>(shutdown.signal, (resolve) => resolve(i));
      await abortable<number>(shutdown.signal, (resolve) => void setImmediate(() => resolve(i)));
      await assert.rejects(abortable(shutdown.signal, (_, reject) => void setImmediate(() => reject(new Error('no')))));
      whenAborted(shutdown.signal, () => assert.fail('stopped listening'))();
    }
    // One listener stands for all of a signal's watchers, however many came and went.
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 1);
    shutdown.abort();
  });
});
