import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { abortable, linkedTo, whenAborted } from '../../src/runtime/abort.js';

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

  it('linkedTo aborts the work when any source aborts, with that reason', async () => {
    const shutdown = new AbortController();
    const client = new AbortController();
    const reason = new Error('client left');
    const seen = linkedTo([shutdown.signal, client.signal], (signal) => new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))));
    client.abort(reason);
    assert.equal(await seen, reason);
    assert.equal(shutdown.signal.aborted, false);
  });

  it('linkedTo hands an aborted signal to work whose source had already aborted, and skips missing sources', async () => {
    const reason = new Error('stopped');
    const signal = await linkedTo([undefined, AbortSignal.abort(reason)], async (s) => s);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
  });

  it('linkedTo uses the controller it is given, and a settled call leaves nothing on its sources', async () => {
    const shutdown = new AbortController();
    const cancel = new AbortController();
    const signal = await linkedTo([shutdown.signal], async (s) => s, cancel);
    assert.equal(signal, cancel.signal);
    for (let i = 0; i < 20; i++) {
      await linkedTo([shutdown.signal], async () => i);
      await assert.rejects(linkedTo([shutdown.signal], () => new Promise((_, reject) => void setImmediate(() => reject(new Error('no'))))));
    }
    assert.equal(getEventListeners(shutdown.signal, 'abort').length, 1, 'the one listener that stands for all watchers');
    shutdown.abort();
    assert.equal(cancel.signal.aborted, false, 'a finished call no longer follows its sources');
  });
});
