import type { Ring } from '../../ring/ring.js';
import type { Handler } from '../messages.js';

export function getNeighboursHandler(ring: Ring): Handler<'getNeighbours'> {
  return async () => ring.neighbours();
}
