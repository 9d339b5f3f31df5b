import { promises as dns } from 'node:dns';
import { errorCode, isRetryable } from '../errors.js';
import type { Clock } from '../runtime/clock.js';
import { sleep } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Rng } from '../runtime/rng.js';
import { joinHostPort } from './address.js';

export interface Peer {
  /** Where to connect. */
  readonly addr: string;
  /** Whether this entry is the node itself. */
  readonly self: boolean;
}

/** The peers to try, in the order that decides who creates the first ring (the first entry). */
export type PeerSource = () => Promise<Peer[]>;

export interface BootstrapComponents {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly logger: Logger;
}

/** What enters a ring: a DhtNode, or a balanced joiner that first picks its id through a member. */
export interface RingEntry {
  join(via: string, signal: AbortSignal): Promise<void>;
  create(): void;
}

const MAX_BACKOFF_MS = 5000;
/** Rounds in a row the first peer must see no ring (with the same peer list) before it creates one. */
const QUIET_ROUNDS = 2;

/**
 * Joins the ring through any peer that is in one. Only the node that is first in the peer list
 * creates a ring, and only after finding no ring twice with the same list; everyone else
 * retries with backoff. So when all pods start at once, one ring forms, not several.
 */
export async function bootstrap(entry: RingEntry, peers: PeerSource, components: BootstrapComponents, signal: AbortSignal): Promise<'created' | 'joined'> {
  const { clock, rng, logger } = components;
  let quiet = 0;
  let lastView = '';
  for (let attempt = 0; ; attempt++) {
    const list = await peers();
    const others = list.filter((p) => !p.self);
    let ringSeen = false;
    for (const peer of shuffle(others, rng)) {
      try {
        await entry.join(peer.addr, signal);
        logger.info({ via: peer.addr, attempt }, 'reached the ring');
        return 'joined';
      } catch (err) {
        if (!isRetryable(err) || signal.aborted) throw err;
        // Silence means nobody there; "not ready" means a node outside any ring; anything else comes from a ring.
        const code = errorCode(err);
        if (code !== 'ERR_UNREACHABLE' && code !== 'ERR_TIMEOUT' && code !== 'ERR_NOT_READY') ringSeen = true;
        logger.debug({ err, via: peer.addr }, 'join attempt failed');
      }
    }
    const view = list.map((p) => p.addr).join(',');
    const first = list.length === 0 || list[0]!.self;
    if (first && !ringSeen) {
      quiet = view === lastView ? quiet + 1 : 1;
      if (quiet >= QUIET_ROUNDS || others.length === 0) {
        entry.create();
        logger.info({ peers: list.length }, 'created a new ring');
        return 'created';
      }
    } else {
      quiet = 0;
    }
    lastView = view;
    const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt) * (0.8 + 0.4 * rng.next());
    if (attempt % 5 === 4) logger.info({ attempt, peers: list.length }, 'still looking for the ring');
    await sleep(clock, backoff, signal);
  }
}

/** BOOTSTRAP_PEERS in the given order; an entry is "self" if its host resolves to ours on our port. */
export function staticPeers(peers: readonly string[], selfAddr: string): PeerSource {
  return async () =>
    Promise.all(
      peers.map(async (addr) => {
        if (addr === selfAddr) return { addr, self: true };
        const at = addr.lastIndexOf(':');
        const [host, port] = [addr.slice(0, at).replace(/^\[|\]$/g, ''), Number(addr.slice(at + 1))];
        const resolved = await dns.lookup(host, { all: true }).catch(() => []);
        return { addr, self: resolved.some((r) => joinHostPort(r.address, port) === selfAddr) };
      }),
    );
}

/** The addresses a (headless service) name resolves to, sorted, each on the gRPC port. */
export function dnsPeers(name: string, port: number, selfAddr: string, server?: string): PeerSource {
  const resolver = new dns.Resolver();
  if (server) resolver.setServers([server]);
  return async () => {
    const [v4, v6] = await Promise.all([resolver.resolve4(name).catch(() => []), resolver.resolve6(name).catch(() => [])]);
    return [...v4, ...v6]
      .map((ip) => joinHostPort(ip, port))
      .sort()
      .map((addr) => ({ addr, self: addr === selfAddr }));
  };
}

function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
