// @ts-check
/**
 * The dashboard's arithmetic, free of the DOM so that Node tests can run it: where an id sits on
 * the ring, what the tracer input means, rates from successive /cluster polls, and totals.
 */

/** X-Cache values in the order docs/api.md lists them. */
export const X_CACHE_VALUES = ['HIT-LOCAL', 'HIT-DHT', 'HIT-HOT', 'MISS-ORIGIN', 'MISS-DHT', 'REVALIDATED'];
/** The X-Cache values that were served from a cache without asking the origin. */
const HIT_VALUES = ['HIT-LOCAL', 'HIT-DHT', 'HIT-HOT'];

/**
 * @typedef {{ url: string, rate: number }} HotUrl
 * @typedef {{ http_port?: number, requests?: number, by_x_cache?: Record<string, number>,
 *   latency_ms_p50?: number | null, latency_ms_p99?: number | null, hops_avg?: number | null, origin_fetches?: number,
 *   cache_bytes?: number, cache_entries?: number, hit_rate?: number, hot_urls?: HotUrl[],
 *   lookup_hops_avg?: number }} Figures
 * @typedef {{ id: string, addr: string, share: number, status: string, predecessor: string | null,
 *   successors: string[], pointers: string[], figures: Figures }} Member
 * @typedef {{ self: { id: string, addr: string }, protocol: string, degree: number | null, bits: number, size: number,
 *   balance?: { max_share_over_mean: number, min_share_over_mean: number, gini: number },
 *   truncated: boolean, members: Member[] }} ClusterView
 * @typedef {{ id: string, addr: string }} NodeInfo
 * @typedef {{ from: NodeInfo, to: NodeInfo, kind: string, imaginary?: string, shifts: number, ms: number }} TraceHop
 * @typedef {{ key: string, url?: string, traced_by: NodeInfo, owner: NodeInfo, via: string, hops: number, path: TraceHop[] }} Trace
 */

/**
 * Where an id sits on the ring, as a fraction of a full turn in [0, 1). Ids have up to 160 bits,
 * more than a double holds exactly, so only the top 52 bits take part.
 * @param {string} idHex 0x-prefixed hex
 * @param {number} bits
 */
export function fraction(idHex, bits) {
  const id = BigInt(idHex);
  if (bits <= 52) return Number(id) / 2 ** bits;
  return Number(id >> BigInt(bits - 52)) / 2 ** 52;
}

/**
 * The point at a fraction of a turn, clockwise from 12 o'clock.
 * @param {number} turn
 * @param {number} radius
 * @param {number} centre
 */
export function pointAt(turn, radius, centre) {
  const angle = 2 * Math.PI * turn;
  return { x: centre + radius * Math.sin(angle), y: centre - radius * Math.cos(angle) };
}

/**
 * SVG path of the band between two radii from turn `from` clockwise to turn `to`: the key
 * space (from, to] a node owns. A whole turn (one node) is drawn as two halves.
 * @param {number} from
 * @param {number} to
 * @param {number} inner
 * @param {number} outer
 * @param {number} centre
 * @returns {string}
 */
export function bandPath(from, to, inner, outer, centre) {
  let span = (((to - from) % 1) + 1) % 1;
  if (span === 0) span = 1;
  if (span >= 1 - 1e-9) return bandPath(from, from + 0.5, inner, outer, centre) + ' ' + bandPath(from + 0.5, from + 1, inner, outer, centre);
  const large = span > 0.5 ? 1 : 0;
  const a = pointAt(from, outer, centre);
  const b = pointAt(from + span, outer, centre);
  const c = pointAt(from + span, inner, centre);
  const d = pointAt(from, inner, centre);
  const f = (/** @type {number} */ n) => n.toFixed(2);
  return (
    `M${f(a.x)},${f(a.y)} A${outer},${outer} 0 ${large} 1 ${f(b.x)},${f(b.y)} ` +
    `L${f(c.x)},${f(c.y)} A${inner},${inner} 0 ${large} 0 ${f(d.x)},${f(d.y)} Z`
  );
}

/**
 * What the tracer's one input field names: an absolute http(s) URL or a hex key that fits the
 * ring. Checked here so that a typo gets a message instead of a 400 from the node.
 * @param {string} text
 * @param {number} bits
 * @returns {{ query: string } | { error: string }}
 */
export function traceQuery(text, bits) {
  const value = text.trim();
  if (value === '') return { error: 'Type a URL (http://… or https://…) or a hex key (0x…).' };
  if (/^https?:\/\//i.test(value)) {
    try {
      return { query: 'url=' + encodeURIComponent(new URL(value).href) };
    } catch {
      return { error: `"${value}" is not a valid URL.` };
    }
  }
  const digits = value.replace(/^0x/i, '');
  if (!/^[0-9a-f]+$/i.test(digits)) return { error: `"${value}" is neither an http(s) URL nor a hex key.` };
  if (BigInt('0x' + digits) >= 1n << BigInt(bits)) return { error: `Key ${value} does not fit in the ring's ${bits} bits.` };
  return { query: 'key=' + digits.toLowerCase() };
}

/** Requests per second of each node, from the growth of its request count between two polls. */
export class RequestRates {
  /** @type {Map<string, { requests: number, at: number }>} */
  #last = new Map();
  /** @type {Map<string, number>} */
  #rates = new Map();

  /**
   * @param {readonly Member[]} members
   * @param {number} nowMs
   */
  update(members, nowMs) {
    /** @type {Map<string, { requests: number, at: number }>} */
    const next = new Map();
    for (const m of members) {
      const requests = m.figures.requests;
      if (typeof requests !== 'number') continue; // unreachable: keep no sample, show no rate
      const before = this.#last.get(m.addr);
      const seconds = before ? (nowMs - before.at) / 1000 : 0;
      // A count that went down means the node restarted: its rate starts over.
      if (before && seconds > 0) this.#rates.set(m.addr, Math.max(0, requests - before.requests) / seconds);
      next.set(m.addr, { requests, at: nowMs });
    }
    for (const addr of this.#rates.keys()) if (!next.has(addr)) this.#rates.delete(addr);
    this.#last = next;
  }

  /**
   * Undefined until two polls have seen the node.
   * @param {string} addr
   */
  rate(addr) {
    return this.#rates.get(addr);
  }
}

/**
 * The share of answers with each X-Cache value, and the hit rate (answers served by a cache).
 * @param {Record<string, number>} byXCache
 */
export function xCacheShares(byXCache) {
  const total = X_CACHE_VALUES.reduce((sum, v) => sum + (byXCache[v] ?? 0), 0);
  const hits = HIT_VALUES.reduce((sum, v) => sum + (byXCache[v] ?? 0), 0);
  return {
    total,
    hitRate: total === 0 ? undefined : hits / total,
    shares: X_CACHE_VALUES.map((value) => ({ value, count: byXCache[value] ?? 0, share: total === 0 ? 0 : (byXCache[value] ?? 0) / total })),
  };
}

/**
 * Whole-ring figures. Percentiles cannot be merged from per-node percentiles, so the totals
 * give the median of the nodes' p50 and the worst node's p99, and say so.
 * @param {readonly Member[]} members
 * @param {RequestRates} rates
 */
export function totals(members, rates) {
  /** @type {Record<string, number>} */
  const byXCache = {};
  let requests = 0;
  let weightedHops = 0;
  let originFetches = 0;
  let cacheBytes = 0;
  let cacheEntries = 0;
  let rps = /** @type {number | undefined} */ (undefined);
  /** @type {number[]} */
  const p50s = [];
  let p99 = 0;
  /** @type {Map<string, number>} */
  const hot = new Map();
  for (const m of members) {
    const f = m.figures;
    const count = f.requests ?? 0;
    requests += count;
    weightedHops += (f.hops_avg ?? 0) * count;
    originFetches += f.origin_fetches ?? 0;
    cacheBytes += f.cache_bytes ?? 0;
    cacheEntries += f.cache_entries ?? 0;
    for (const v of X_CACHE_VALUES) byXCache[v] = (byXCache[v] ?? 0) + (f.by_x_cache?.[v] ?? 0);
    if (count > 0) {
      p50s.push(f.latency_ms_p50 ?? 0);
      p99 = Math.max(p99, f.latency_ms_p99 ?? 0);
    }
    const rate = rates.rate(m.addr);
    if (rate !== undefined) rps = (rps ?? 0) + rate;
    for (const h of f.hot_urls ?? []) hot.set(h.url, Math.max(hot.get(h.url) ?? 0, h.rate));
  }
  p50s.sort((a, b) => a - b);
  return {
    nodes: members.length,
    ready: members.filter((m) => m.status === 'READY').length,
    share: members.reduce((sum, m) => sum + m.share, 0),
    requests,
    rps,
    byXCache,
    hopsMean: requests === 0 ? undefined : weightedHops / requests,
    latencyP50Median: p50s.length === 0 ? undefined : p50s[Math.floor((p50s.length - 1) / 2)],
    latencyP99Max: p50s.length === 0 ? undefined : p99,
    originFetches,
    cacheBytes,
    cacheEntries,
    hotUrls: [...hot].map(([url, rate]) => ({ url, rate })).sort((a, b) => b.rate - a.rate).slice(0, 5),
  };
}

/**
 * Short names for ring labels: the port when every node shares a host (a local cluster), the
 * first DNS label when hosts are names (dht-node-3), else host:port.
 * @param {readonly string[]} addrs
 * @returns {Map<string, string>}
 */
export function shortNames(addrs) {
  const split = addrs.map((addr) => {
    const at = addr.lastIndexOf(':');
    return { addr, host: addr.slice(0, at), port: addr.slice(at + 1) };
  });
  const oneHost = new Set(split.map((s) => s.host)).size === 1 && addrs.length > 1;
  return new Map(
    split.map(({ addr, host, port }) => {
      if (oneHost) return [addr, ':' + port];
      if (!/^[\d.]+$|:/.test(host)) return [addr, host.split('.')[0] ?? host];
      return [addr, addr];
    }),
  );
}

/** @param {number | undefined} bytes */
export function formatBytes(bytes) {
  if (bytes === undefined) return '–';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * @param {number | undefined} share in [0, 1]
 * @param {number} [digits]
 */
export function formatPercent(share, digits = 1) {
  return share === undefined ? '–' : `${(share * 100).toFixed(digits)} %`;
}

/**
 * @param {number | null | undefined} value
 * @param {number} [digits]
 */
export function formatNumber(value, digits = 1) {
  return value === undefined || value === null || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}
