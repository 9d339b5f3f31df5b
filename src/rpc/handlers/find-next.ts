import type { Router } from '../../routing/router.js';
import type { Handler } from '../messages.js';

/** One step of someone else's lookup: this node's routing decision, nothing sent onwards. */
export function findNextHandler(router: Router): Handler<'findNext'> {
  return async ({ key, carry }) => router.step(key, carry);
}
