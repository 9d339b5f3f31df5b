import { Gauge, Registry } from 'prom-client';
import type { CacheService } from '../cache/cache-service.js';
import type { MemoryGuard } from '../cache/memory-guard.js';
import type { OwnerCache } from '../cache/owner-cache.js';
import type { DhtNode } from '../node/dht-node.js';
import { nodeSnapshot } from '../node/node-snapshot.js';

export interface MetricsSources {
  readonly dht: DhtNode;
  /** Absent when CACHE_ENABLED=false. */
  readonly cache?: {
    readonly service: CacheService;
    readonly owner: OwnerCache;
    readonly capacityBytes: number;
    /** Absent when there is no memory ceiling (CACHE_MEMORY_LIMIT_MB none, or auto outside a limited container). */
    readonly guard?: MemoryGuard;
  };
  /** The process's memory use (process.memoryUsage in a real node). */
  readonly memoryUsage?: () => NodeJS.MemoryUsage;
}

/** How many hot URLs /metrics lists. */
const HOT_URLS_SHOWN = 20;

/** /metrics as JSON (docs/api.md fields, and more). */
export function metricsJson({ dht, cache, memoryUsage }: MetricsSources) {
  const { stats } = dht;
  const node = nodeSnapshot(dht);
  const owner = cache?.owner;
  const counts = owner?.counts;
  const served = counts ? counts.hits + counts.staleServed + counts.revalidated + counts.misses : 0;
  const sizeBytes = owner?.store.sizeBytes ?? 0;
  const capacityBytes = cache?.capacityBytes ?? 0;
  const hot = owner?.hotKeys.hot() ?? [];
  const requests = cache?.service.stats;
  const requestCount = requests ? Object.values(requests.byXCache).reduce((a, b) => a + b, 0) : 0;
  const memory = memoryUsage?.();
  return {
    node: { id: node.self.id, addr: node.self.addr, protocol: node.protocol, status: node.status },
    cache: {
      hits: (counts?.hits ?? 0) + (counts?.staleServed ?? 0),
      misses: counts?.misses ?? 0,
      revalidations: counts?.revalidated ?? 0,
      evictions: owner?.store.evictions ?? 0,
      stores: counts?.stores ?? 0,
      origin_fetches: counts?.originFetches ?? 0,
      hit_rate: served ? ((counts?.hits ?? 0) + (counts?.staleServed ?? 0) + (counts?.revalidated ?? 0)) / served : 0,
      entry_count: owner?.store.entryCount ?? 0,
      size_bytes: sizeBytes,
      capacity_bytes: capacityBytes,
      utilization: capacityBytes ? sizeBytes / capacityBytes : 0,
      hot_copies: cache?.service.hotCopies.size ?? 0,
      // 0 = no ceiling.
      memory_limit_bytes: cache?.guard?.limitBytes ?? 0,
      rss_bytes: memory?.rss ?? 0,
      pressure_evictions: cache?.guard?.pressureEvictions ?? 0,
    },
    requests: {
      count: requestCount,
      by_x_cache: requests?.byXCache ?? {},
      errors: requests?.errors ?? {},
      hops_avg: requests?.hops.mean ?? 0,
      latency_ms_p50: requests?.latencyMs.quantile(0.5) ?? 0,
      latency_ms_p99: requests?.latencyMs.quantile(0.99) ?? 0,
    },
    // Resident memory is cache.rss_bytes, beside the ceiling it is judged against.
    process: {
      heap_used_bytes: memory?.heapUsed ?? 0,
      heap_total_bytes: memory?.heapTotal ?? 0,
      external_bytes: memory?.external ?? 0,
      array_buffers_bytes: memory?.arrayBuffers ?? 0,
    },
    hotspots: { count: hot.length, urls: hotUrlsShown(hot) },

    routing: {
      successor_count: node.counts.successors,
      debruijn_count: node.protocol === 'koorde' ? node.counts.pointers : 0,
      finger_count: node.protocol === 'chord' ? node.counts.pointers : 0,
      has_predecessor: node.predecessor !== undefined,
      stats: {
        protocol: node.protocol,
        de_bruijn_success: stats.byKind.debruijn,
        de_bruijn_failures: stats.fallbacks,
        successor_fallbacks: stats.byKind.successor,
        avg_de_bruijn_success_ms: stats.meanHopMs('debruijn'),
        avg_de_bruijn_failure_ms: stats.meanFailedHopMs('debruijn'),
        avg_successor_fallback_ms: stats.meanHopMs('successor'),
        corrections: stats.byKind.correction,
        finger_hops: stats.byKind.finger,
      },
    },
    lookups: {
      count: stats.count,
      failures: stats.failures,
      hops_avg: stats.meanHops,
      hops_p99: stats.hopQuantile(0.99),
      latency_ms_p50: stats.latencyMs.quantile(0.5),
      latency_ms_p99: stats.latencyMs.quantile(0.99),
    },
  };
}

/**
 * The hottest URLs without their query strings, which can carry clients' tokens and session ids:
 * /metrics and /cluster are read by people and scrapers that must not see them. URLs that differ
 * only in their query are one entry, with their rates added.
 */
export function hotUrlsShown(hot: readonly { url: string; rate: number }[]): { url: string; rate: number }[] {
  const rates = new Map<string, number>();
  for (const { url, rate } of hot) {
    const bare = url.replace(/[?#].*$/s, '');
    rates.set(bare, (rates.get(bare) ?? 0) + rate);
  }
  return [...rates]
    .sort((a, b) => b[1] - a[1])
    .slice(0, HOT_URLS_SHOWN)
    .map(([url, rate]) => ({ url, rate: Number(rate.toFixed(1)) }));
}

type Json = ReturnType<typeof metricsJson>;

/**
 * The same figures in Prometheus text: gauges that read the JSON at scrape time, so both
 * formats always agree. One registry per node process.
 */
export function prometheusRegistry(sources: MetricsSources): Registry {
  const registry = new Registry();
  // One snapshot serves all gauges of a scrape; it is retaken once older than a scrape lasts.
  let snapshot = { at: 0, json: metricsJson(sources) };
  const current = (): Json => {
    if (Date.now() - snapshot.at > 100) snapshot = { at: Date.now(), json: metricsJson(sources) };
    return snapshot.json;
  };
  const gauge = (name: string, help: string, read: (m: Json) => number) =>
    new Gauge({
      name: `koorde_${name}`,
      help,
      registers: [registry],
      collect() {
        this.set(read(current()));
      },
    });
  gauge('cache_hits_total', 'Requests this node served from its store as owner', (m) => m.cache.hits);
  gauge('cache_misses_total', 'Requests this node fetched from the origin as owner', (m) => m.cache.misses);
  gauge('cache_revalidations_total', 'Stale objects revalidated with the origin (304)', (m) => m.cache.revalidations);
  gauge('cache_evictions_total', 'Objects evicted to stay within CACHE_CAPACITY_MB', (m) => m.cache.evictions);
  gauge('cache_stores_total', 'Responses stored', (m) => m.cache.stores);
  gauge('cache_origin_fetches_total', 'Requests sent to origins', (m) => m.cache.origin_fetches);
  gauge('cache_hit_ratio', 'Share of owner requests answered without a full origin fetch', (m) => m.cache.hit_rate);
  gauge('cache_entries', 'URLs stored', (m) => m.cache.entry_count);
  gauge('cache_size_bytes', 'Heap the stored objects take, as CACHE_CAPACITY_MB counts it', (m) => m.cache.size_bytes);
  gauge('cache_capacity_bytes', 'Byte budget of the store', (m) => m.cache.capacity_bytes);
  gauge('cache_memory_limit_bytes', 'Resident memory at which the cache evicts (0 = no ceiling)', (m) => m.cache.memory_limit_bytes);
  gauge('cache_rss_bytes', 'Resident memory of the process', (m) => m.cache.rss_bytes);
  gauge('cache_pressure_evictions_total', 'Objects evicted because resident memory reached the ceiling', (m) => m.cache.pressure_evictions);
  gauge('process_heap_used_bytes', 'V8 heap in use', (m) => m.process.heap_used_bytes);
  gauge('process_array_buffers_bytes', 'Memory of Buffers and ArrayBuffers (cached bodies live here)', (m) => m.process.array_buffers_bytes);
  gauge('hotspots', 'URLs above CACHE_HOTSPOT_THRESHOLD', (m) => m.hotspots.count);
  gauge('routing_successors', 'Successor list length', (m) => m.routing.successor_count);
  gauge('routing_debruijn_pointers', 'De Bruijn list length (Koorde)', (m) => m.routing.debruijn_count);
  gauge('routing_fingers', 'Distinct fingers (Chord)', (m) => m.routing.finger_count);
  gauge('lookups_total', 'Lookups this node started', (m) => m.lookups.count);
  gauge('lookup_failures_total', 'Lookups that failed', (m) => m.lookups.failures);
  gauge('lookup_hops_avg', 'Mean DHT hops per lookup', (m) => m.lookups.hops_avg);
  gauge('lookup_latency_p99_ms', '99th percentile lookup latency', (m) => m.lookups.latency_ms_p99);
  gauge('request_latency_p50_ms', 'Median latency of requests this node answered as entry', (m) => m.requests.latency_ms_p50);
  gauge('request_latency_p99_ms', '99th percentile latency of requests this node answered as entry', (m) => m.requests.latency_ms_p99);
  new Gauge({
    name: 'koorde_requests_total',
    help: 'Requests answered as entry node, by X-Cache',
    labelNames: ['x_cache'],
    registers: [registry],
    collect() {
      for (const [value, n] of Object.entries(current().requests.by_x_cache) as [string, number][]) this.set({ x_cache: value }, n);
    },
  });
  return registry;
}

/** The part of /metrics the dashboard shows per node, sent along with `describe`. */
export function dashboardFigures(sources: MetricsSources, httpPort: number) {
  const m = metricsJson(sources);
  return {
    http_port: httpPort,
    requests: m.requests.count,
    by_x_cache: m.requests.by_x_cache,
    // null, not 0, until the node has answered something: no requests is not zero latency.
    latency_ms_p50: m.requests.count ? m.requests.latency_ms_p50 : null,
    latency_ms_p99: m.requests.count ? m.requests.latency_ms_p99 : null,
    hops_avg: m.requests.count ? m.requests.hops_avg : null,
    origin_fetches: m.cache.origin_fetches,
    cache_bytes: m.cache.size_bytes,
    cache_entries: m.cache.entry_count,
    hit_rate: m.cache.hit_rate,
    hot_urls: m.hotspots.urls.slice(0, 5),
    lookup_hops_avg: m.lookups.hops_avg,
  };
}
