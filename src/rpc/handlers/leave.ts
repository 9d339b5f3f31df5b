import type { Ring } from '../../ring/ring.js';
import type { Handler } from '../messages.js';

export function leaveHandler(ring: Ring): Handler<'leave'> {
  return async ({ node, predecessor, successors }) => {
    ring.onLeave(node, predecessor, successors);
    return {};
  };
}
