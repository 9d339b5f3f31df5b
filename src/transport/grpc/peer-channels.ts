import { wallClock, type Clock } from '../../runtime/clock.js';

export interface PeerChannelsInit {
  /** A channel unused this long is closed: its peer left the ring or was never one. */
  readonly idleMs: number;
  /** Open channels at most; the least recently used one goes first. */
  readonly maxChannels: number;
  readonly clock: Clock;
}

/** Peers of the routing state are called every few seconds, so five idle minutes mean gone. */
export const DEFAULT_PEER_CHANNELS: PeerChannelsInit = { idleMs: 5 * 60_000, maxChannels: 1024, clock: wallClock };

/**
 * The per-peer gRPC channels (or stubs) of one node, by address. Addresses come from the wire
 * (notifies, lookups, leaves), so the map must not keep one channel per address ever heard of:
 * channels of departed peers are closed once idle, and the map never holds more than
 * maxChannels. Kept in order of last use, so pruning looks only at the oldest entries. A channel
 * with calls in flight (`inFlight`, where the channel counts them) is in use, never idle.
 */
export class PeerChannels<T extends { close(): void; readonly inFlight?: number }> {
  private readonly open = new Map<string, { readonly channel: T; usedAt: number }>();

  constructor(private readonly init: PeerChannelsInit = DEFAULT_PEER_CHANNELS) {}

  get size(): number {
    return this.open.size;
  }

  /** The open channel to `addr`, now marked as used; undefined if there is none. */
  get(addr: string): T | undefined {
    const now = this.init.clock.now();
    this.closeIdle(now);
    const entry = this.open.get(addr);
    if (!entry) return undefined;
    this.open.delete(addr);
    entry.usedAt = now;
    this.open.set(addr, entry);
    return entry.channel;
  }

  set(addr: string, channel: T): void {
    for (const [oldest, entry] of this.open) {
      if (this.open.size < this.init.maxChannels) break;
      if (busy(entry.channel)) continue;
      entry.channel.close();
      this.open.delete(oldest);
    }
    this.open.set(addr, { channel, usedAt: this.init.clock.now() });
  }

  /** Closes and forgets the channel to `addr` (its peer failed), if there is one. */
  delete(addr: string): void {
    this.open.get(addr)?.channel.close();
    this.open.delete(addr);
  }

  *values(): IterableIterator<T> {
    for (const entry of this.open.values()) yield entry.channel;
  }

  clear(): void {
    this.open.clear();
  }

  private closeIdle(now: number): void {
    for (const [addr, entry] of this.open) {
      if (now - entry.usedAt < this.init.idleMs) return;
      if (busy(entry.channel)) {
        // Still answering: in use now, so it moves to the young end and the loop meets it there.
        this.open.delete(addr);
        entry.usedAt = now;
        this.open.set(addr, entry);
        continue;
      }
      entry.channel.close();
      this.open.delete(addr);
    }
  }
}

function busy(channel: { readonly inFlight?: number }): boolean {
  return (channel.inFlight ?? 0) > 0;
}
