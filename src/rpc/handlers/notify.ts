import type { Ring } from '../../ring/ring.js';
import type { Handler } from '../messages.js';

export function notifyHandler(ring: Ring): Handler<'notify'> {
  return async ({ node }, { signal }) => {
    await ring.notify(node, signal);
    return {};
  };
}
