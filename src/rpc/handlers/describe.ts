import type { Handler, NodeDescription } from '../messages.js';

/** Answers with a fresh description each time: status and pointers change as the ring does. */
export function describeHandler(describe: () => NodeDescription): Handler<'describe'> {
  return async () => describe();
}
