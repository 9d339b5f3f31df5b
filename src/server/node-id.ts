import { ConfigError } from '../config/load.js';
import type { Settings } from '../config/settings.js';
import type { IdSpace } from '../id/id-space.js';
import { ordinalFromHostname, ordinalId } from '../id/placement.js';

/** Where a node sits on the ring, or whether it picks a sampled place before it joins. */
export interface NodePlacement {
  readonly id: bigint;
  readonly balanceOnJoin: boolean;
}

/**
 * NODE_ID wins; else the id saved in STATE_FILE, so a restarted pod keeps its place and data;
 * else NODE_ID_STRATEGY. A balanced node that creates a ring keeps its hashed id; one that
 * joins picks a sampled id through a member first, and joins with that.
 */
export function initialPlacement(settings: Settings, savedId: string | undefined, addr: string, hostname: string, ids: IdSpace): NodePlacement {
  if (settings.nodeId) return { id: ids.parseHex(settings.nodeId), balanceOnJoin: false };
  if (savedId !== undefined) return { id: ids.parseHex(savedId), balanceOnJoin: false };
  switch (settings.idStrategy) {
    case 'hash':
      return { id: ids.hash(addr), balanceOnJoin: false };
    case 'balanced':
      return { id: ids.hash(addr), balanceOnJoin: true };
    case 'ordinal': {
      const ordinal = ordinalFromHostname(hostname);
      if (ordinal === undefined || BigInt(ordinal) >= ids.size) {
        throw new ConfigError([
          `NODE_ID_STRATEGY=ordinal needs a StatefulSet hostname ending in -<ordinal> below 2^DHT_ID_BITS (such as dht-node-3), got "${hostname}"; use hash or balanced, or set NODE_ID`,
        ]);
      }
      return { id: ordinalId(ordinal, ids), balanceOnJoin: false };
    }
  }
}
