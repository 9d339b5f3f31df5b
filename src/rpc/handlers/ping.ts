import type { Handler } from '../messages.js';

export function pingHandler(): Handler<'ping'> {
  return async () => ({});
}
