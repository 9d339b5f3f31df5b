import { OriginPolicy } from '../cache/origin/address-policy.js';
import { degreeProblem } from '../id/digits.js';
import { MAX_ID_BITS } from '../id/id-space.js';
import { ID_STRATEGIES, type IdStrategy } from '../id/placement.js';
import { PROTOCOLS } from '../routing/router.js';
import { tlsFilesProblem, type TlsFileNames, type TlsFiles } from '../transport/grpc/tls.js';
import { MAX_MESSAGE_BYTES, OBJECT_ENVELOPE_BYTES } from '../transport/grpc/limits.js';
import { DEFAULT_KV_LIMITS } from '../storage/kv-limits.js';
import { parseDurationMs } from './duration.js';

/** A parser turns a raw value (env text, or a YAML scalar) into a setting or says what is allowed. */
type Parser<T> = (raw: unknown) => { value: T } | { allowed: string };

interface Setting<T> {
  /** Environment variable that overrides the YAML key. */
  readonly env: string;
  /** Dotted path in the YAML file. */
  readonly yaml: string;
  readonly defaultValue: T;
  readonly parse: Parser<T>;
  /** One line for --help and the docs. */
  readonly help: string;
}

function setting<T>(env: string, yaml: string, defaultValue: T, parse: Parser<T>, help: string): Setting<T> {
  return { env, yaml, defaultValue, parse, help };
}

const text: Parser<string> = (raw) => (typeof raw === 'string' || typeof raw === 'number' ? { value: String(raw).trim() } : { allowed: 'a string' });

function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    return Number.isInteger(n) && n >= min && n <= max ? { value: n } : { allowed: `an integer from ${min} to ${max}` };
  };
}

function decimal(min: number, max: number, exclusive = false): Parser<number> {
  return (raw) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    const inside = exclusive ? n > min && n < max : n >= min && n <= max;
    return Number.isFinite(n) && inside ? { value: n } : { allowed: `a number ${exclusive ? 'strictly ' : ''}between ${min} and ${max}` };
  };
}

const boolean: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return { value: raw };
  const t = String(raw).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return { value: true };
  if (['false', '0', 'no', 'off'].includes(t)) return { value: false };
  return { allowed: 'true or false' };
};

/** A boolean, or empty for "unset" (a default that depends on other settings). */
const optionalBoolean: Parser<boolean | null> = (raw) => {
  if (raw === null || String(raw).trim() === '') return { value: null };
  const parsed = boolean(raw);
  return 'value' in parsed ? parsed : { allowed: 'true, false or empty' };
};

function oneOf<T extends string>(choices: readonly T[]): Parser<T> {
  return (raw) => ((choices as readonly unknown[]).includes(raw) ? { value: raw as T } : { allowed: `one of ${choices.join(', ')}` });
}

/** A duration (`500ms`, `2s`, `1m`) in milliseconds, at least `minMs`. */
function duration(minMs: number): Parser<number> {
  return (raw) => {
    const ms = typeof raw === 'number' ? raw : parseDurationMs(String(raw));
    return ms !== undefined && ms >= minMs ? { value: ms } : { allowed: `a duration of at least ${minMs} ms, such as 500ms, 2s or 1m` };
  };
}

/** A comma-separated list (or a YAML list) of items each accepted by `check`. */
function list(check: (item: string) => boolean, what: string): Parser<string[]> {
  return (raw) => {
    const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
    const trimmed = items.map((s) => s.trim()).filter(Boolean);
    return trimmed.every(check) ? { value: trimmed } : { allowed: `a comma-separated list of ${what}` };
  };
}

const hostPort = (s: string) => /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i.test(s) && Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535;
const hexId: Parser<string> = (raw) => {
  const t = String(raw ?? '').trim();
  return t === '' || /^(0x)?[0-9a-f]+$/i.test(t) ? { value: t.replace(/^0x/i, '') } : { allowed: 'empty or a hex identifier' };
};
const httpUrl: Parser<string> = (raw) => {
  const t = String(raw ?? '').trim();
  if (t === '') return { value: '' };
  try {
    const url = new URL(t);
    if (url.protocol === 'http:' || url.protocol === 'https:') return { value: t.replace(/\/+$/, '') };
  } catch {
    // fall through: not a URL
  }
  return { allowed: 'empty or an absolute http(s) URL' };
};

/** A memory ceiling in MiB, `auto` (derived from the container's limit) or `none`. */
const memoryLimit: Parser<number | 'auto' | 'none'> = (raw) => {
  const t = String(raw ?? '').trim().toLowerCase();
  if (t === 'auto' || t === 'none') return { value: t };
  const n = typeof raw === 'number' ? raw : t === '' ? NaN : Number(t);
  return Number.isFinite(n) && n >= 16 && n <= 1_048_576 ? { value: n } : { allowed: 'auto, none, or a number of MiB from 16 to 1048576' };
};

/** OTLP over gRPC as `host:port` (the collector's 4317), or OTLP over HTTP as a URL (4318). */
const otlpEndpoint: Parser<string> = (raw) => {
  const t = String(raw ?? '').trim();
  if (t === '' || hostPort(t)) return { value: t };
  const url = httpUrl(t);
  return 'value' in url ? url : { allowed: 'empty, host:port (OTLP/gRPC) or an http(s):// URL (OTLP/HTTP)' };
};
const dnsSuffix: Parser<string> = (raw) => {
  const t = String(raw ?? '').trim().replace(/\.$/, '');
  return t === '' || /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(t) ? { value: t.toLowerCase() } : { allowed: 'empty or a DNS domain such as koorde.dht' };
};

/** RFC 9213 §2: a targeted field is named `<target>-Cache-Control`. */
const targetedField: Parser<string> = (raw) => {
  const t = String(raw ?? '').trim();
  return /^[A-Za-z0-9!#$%&'*+.^_`|~-]+-Cache-Control$/i.test(t) ? { value: t } : { allowed: 'a header field name ending in -Cache-Control, such as CDN-Cache-Control' };
};

const BOOTSTRAP_MODES = ['static', 'dns', 'route53'] as const;
const TRACING_EXPORTERS = ['otlp', 'stdout', 'none'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Every setting a node reads (docs/api.md): YAML key, overriding env var, default. Deployment
 * manifests and their tests import this table, so a setting exists in exactly one place.
 */
export const SETTINGS = {
  protocol: setting('DHT_PROTOCOL', 'dht.protocol', 'koorde' as (typeof PROTOCOLS)[number], oneOf(PROTOCOLS), 'routing protocol'),
  idBits: setting('DHT_ID_BITS', 'dht.idBits', 66, integer(8, MAX_ID_BITS), 'identifier space 2^b'),
  mode: setting('DHT_MODE', 'dht.mode', 'private' as 'private' | 'public', oneOf(['private', 'public'] as const), 'address to advertise when NODE_HOST is empty'),
  degree: setting('DEBRUIJN_DEGREE', 'dht.deBruijn.degree', 8, integer(2, 256), 'Koorde base k'),
  deBruijnFixIntervalMs: setting('DEBRUIJN_FIX_INTERVAL', 'dht.deBruijn.fixInterval', 5000, duration(10), 'de Bruijn pointer refresh period'),
  fingerFixIntervalMs: setting('FINGER_FIX_INTERVAL', 'dht.chord.fixInterval', 5000, duration(10), 'Chord finger refresh period'),
  successorListSize: setting('SUCCESSOR_LIST_SIZE', 'dht.faultTolerance.successorListSize', 8, integer(1, 64), 'successor list length r'),
  stabilizeIntervalMs: setting('STABILIZATION_INTERVAL', 'dht.faultTolerance.stabilizationInterval', 2000, duration(10), 'stabilize / rectify period'),
  failureTimeoutMs: setting('FAILURE_TIMEOUT', 'dht.faultTolerance.failureTimeout', 1000, duration(10), 'per-RPC deadline'),
  replicationFactor: setting('REPLICATION_FACTOR', 'dht.storage.replicationFactor', 3, integer(1, 16), 'copies of each key-value pair'),
  storageFixIntervalMs: setting('STORAGE_FIX_INTERVAL', 'dht.storage.fixInterval', 20_000, duration(100), 'ownership / replica repair period'),
  kvMaxKeyBytes: setting('KV_MAX_KEY_BYTES', 'dht.storage.maxKeyBytes', DEFAULT_KV_LIMITS.maxKeyBytes, integer(1, 65_536), 'largest key-value key, UTF-8 bytes'),
  kvMaxValueBytes: setting('KV_MAX_VALUE_BYTES', 'dht.storage.maxValueBytes', DEFAULT_KV_LIMITS.maxValueBytes, integer(1, 32 * 1024 * 1024), 'largest key-value value, UTF-8 bytes'),
  kvMaxItemsPerMessage: setting('KV_MAX_ITEMS_PER_MESSAGE', 'dht.storage.maxItemsPerMessage', DEFAULT_KV_LIMITS.maxItemsPerMessage, integer(1, 1_000_000), 'items one peer message may carry'),
  kvMaxClockSkewMs: setting('KV_MAX_CLOCK_SKEW', 'dht.storage.maxClockSkew', DEFAULT_KV_LIMITS.maxClockSkewMs, duration(0), 'how far ahead of the clock a peer item version may lie'),
  bootstrapMode: setting('BOOTSTRAP_MODE', 'dht.bootstrap.mode', 'static' as (typeof BOOTSTRAP_MODES)[number], oneOf(BOOTSTRAP_MODES), 'how to find the ring'),
  bootstrapPeers: setting('BOOTSTRAP_PEERS', 'dht.bootstrap.peers', [] as string[], list(hostPort, 'host:port'), 'peers to join through; empty = new ring'),
  bootstrapDnsName: setting('BOOTSTRAP_DNS_NAME', 'dht.bootstrap.dnsName', '', text, 'headless service name to resolve'),
  bootstrapDnsServer: setting('BOOTSTRAP_DNS_SERVER', 'dht.bootstrap.dnsServer', '', text, 'DNS server (host:port) for BOOTSTRAP_DNS_NAME; empty = the system resolver'),
  hopDelayMs: setting('DHT_HOP_DELAY', 'dht.hopDelay', 0, duration(0), 'artificial delay added to every node-to-node call (lab use: makes hop counts visible locally)'),
  nodeId: setting('NODE_ID', 'node.id', '', hexId, 'fixed hex id; empty = chosen by NODE_ID_STRATEGY'),
  idStrategy: setting('NODE_ID_STRATEGY', 'dht.idStrategy', 'balanced' as IdStrategy, oneOf(ID_STRATEGIES), 'hash (SHA-1 of host:port), balanced (split the largest sampled interval), ordinal (bit-reversed StatefulSet ordinal)'),
  idRebalance: setting(
    'NODE_ID_REBALANCE',
    'dht.idRebalance',
    true,
    boolean,
    'balanced ids: a joiner left a sliver by joins that raced with its own leaves and joins again at a balanced id',
  ),
  bind: setting('NODE_BIND', 'node.bind', '0.0.0.0', text, 'listen address of gRPC and HTTP'),
  host: setting('NODE_HOST', 'node.host', '', text, 'advertised host; empty = chosen by DHT_MODE'),
  port: setting('NODE_PORT', 'node.port', 4000, integer(1, 65535), 'gRPC port'),
  stateFile: setting('STATE_FILE', 'node.stateFile', '', text, 'state snapshot written on shutdown, read at start'),
  cacheEnabled: setting('CACHE_ENABLED', 'cache.enabled', true, boolean, 'serve the HTTP cache API'),
  httpPort: setting('CACHE_HTTP_PORT', 'cache.httpPort', 8080, integer(1, 65535), 'HTTP API port'),
  peerPort: setting('CACHE_PEER_PORT', 'cache.peerPort', 4001, integer(0, 65535), 'peer data channel port: forwarded requests between nodes (0 = any free port)'),
  capacityMB: setting('CACHE_CAPACITY_MB', 'cache.capacityMB', 1024, decimal(0, 1_048_576), 'cache byte budget, MiB'),
  memoryLimitMB: setting(
    'CACHE_MEMORY_LIMIT_MB',
    'cache.memoryLimitMB',
    'auto' as number | 'auto' | 'none',
    memoryLimit,
    'resident memory at which the cache evicts, MiB; auto = 90 % of the container limit (none without one)',
  ),
  maxObjectMB: setting('CACHE_MAX_OBJECT_MB', 'cache.maxObjectMB', 16, decimal(0, 65_536, true), 'largest cacheable object, MiB'),
  defaultTtlSeconds: setting('CACHE_DEFAULT_TTL', 'cache.defaultTTL', 3600, integer(0, 31_536_000), 'freshness when the origin gives none, s'),
  hotspotThreshold: setting('CACHE_HOTSPOT_THRESHOLD', 'cache.hotspotThreshold', 1000, decimal(0, 1e9, true), 'decayed request rate of a hot URL'),
  hotspotDecay: setting('CACHE_HOTSPOT_DECAY', 'cache.hotspotDecayRate', 0.65, decimal(0, 1, true), 'per-second decay factor'),
  origin: setting('CACHE_ORIGIN', 'cache.origin', '', httpUrl, 'gateway mode: the origin to reverse-proxy'),
  originAllowlist: setting('CACHE_ORIGIN_ALLOWLIST', 'cache.originAllowlist', [] as string[], list((s) => /^[^\s,]+$/.test(s), 'hosts or CIDRs'), 'internal origins that may be fetched'),
  openProxy: setting('CACHE_OPEN_PROXY', 'cache.openProxy', null as boolean | null, optionalBoolean, 'serve /cache?url= for any origin (empty: true, false in gateway mode)'),
  originMaxConcurrent: setting('CACHE_ORIGIN_MAX_CONCURRENT', 'cache.originMaxConcurrent', 256, integer(1, 100_000), 'origin requests in flight at once on a node'),
  originMaxPerHost: setting('CACHE_ORIGIN_MAX_PER_HOST', 'cache.originMaxPerHost', 32, integer(1, 100_000), 'origin requests in flight at once to one origin'),
  originQueue: setting('CACHE_ORIGIN_QUEUE', 'cache.originQueue', 1024, integer(0, 1_000_000), 'origin requests that may wait for a slot; more get 503'),
  originQueueTimeoutMs: setting('CACHE_ORIGIN_QUEUE_TIMEOUT', 'cache.originQueueTimeout', 5000, duration(1), 'longest wait for an origin request slot before a 503'),
  originFetchTimeoutMs: setting('CACHE_ORIGIN_FETCH_TIMEOUT', 'cache.originFetchTimeout', 30_000, duration(100), 'deadline of a whole origin fetch, body included (504 after it)'),
  via: setting('CACHE_VIA', 'cache.via', true, boolean, 'gateway mode: add Via to requests sent to the origin and to answers'),
  forwardedHeaders: setting('CACHE_FORWARDED_HEADERS', 'cache.forwardedHeaders', true, boolean, 'gateway mode: add X-Forwarded-For and X-Forwarded-Proto to requests sent to the origin'),
  storeSetCookie: setting('CACHE_STORE_SET_COOKIE', 'cache.storeSetCookie', false, boolean, 'store responses that carry Set-Cookie (off: passed through, never stored)'),
  targetedCacheControl: setting(
    'CACHE_TARGETED_CACHE_CONTROL',
    'cache.targetedCacheControl',
    'CDN-Cache-Control',
    targetedField,
    'RFC 9213 field this cache obeys over Cache-Control (CDN-Cache-Control next); not passed on',
  ),
  routeCache: setting('CACHE_ROUTE_CACHE', 'cache.routeCache', true, boolean, 'entry nodes remember key ranges → owners'),
  loggerEnabled: setting('LOGGER_ENABLED', 'logger.enabled', true, boolean, 'structured logs on'),
  loggerLevel: setting('LOGGER_LEVEL', 'logger.level', 'info' as LogLevel, oneOf(LOG_LEVELS), 'log level'),
  loggerEncoding: setting('LOGGER_ENCODING', 'logger.encoding', 'json' as 'json' | 'console', oneOf(['json', 'console'] as const), 'json lines or readable text'),
  loggerMode: setting('LOGGER_MODE', 'logger.mode', 'stdout' as 'stdout' | 'stderr' | 'file', oneOf(['stdout', 'stderr', 'file'] as const), 'where logs go'),
  tracingEnabled: setting('TRACING_ENABLED', 'telemetry.tracing.enabled', false, boolean, 'OpenTelemetry spans'),
  tracingEndpoint: setting('TRACING_ENDPOINT', 'telemetry.tracing.endpoint', '', otlpEndpoint, 'OTLP endpoint: host:port = gRPC, http(s):// URL = HTTP'),
  tracingExporter: setting('TRACING_EXPORTER', 'telemetry.tracing.exporter', 'otlp' as (typeof TRACING_EXPORTERS)[number], oneOf(TRACING_EXPORTERS), 'otlp, stdout (JSON lines) or none'),
  loggerFilePath: setting('LOGGER_FILE_PATH', 'logger.file.path', '', text, 'LOGGER_MODE=file: log file path (rotated files are dated beside it)'),
  loggerFileMaxSizeMB: setting('LOGGER_FILE_MAX_SIZE', 'logger.file.maxSize', 100, integer(1, 1_048_576), 'LOGGER_MODE=file: rotate at this size, MiB'),
  loggerFileMaxBackups: setting('LOGGER_FILE_MAX_BACKUPS', 'logger.file.maxBackups', 3, integer(0, 10_000), 'LOGGER_MODE=file: rotated files kept (0 = all)'),
  loggerFileMaxAgeDays: setting('LOGGER_FILE_MAX_AGE', 'logger.file.maxAge', 7, integer(0, 36_500), 'LOGGER_MODE=file: days to keep rotated files (0 = no age limit)'),
  loggerFileCompress: setting('LOGGER_FILE_COMPRESS', 'logger.file.compress', false, boolean, 'LOGGER_MODE=file: gzip rotated files'),
  route53ZoneId: setting('ROUTE53_ZONE_ID', 'dht.bootstrap.route53.hostedZoneId', '', text, 'BOOTSTRAP_MODE=route53: private hosted zone id'),
  route53Suffix: setting('ROUTE53_SUFFIX', 'dht.bootstrap.route53.domainSuffix', '', dnsSuffix, 'BOOTSTRAP_MODE=route53: domain of the SRV records, e.g. koorde.dht'),
  route53TtlSeconds: setting('ROUTE53_TTL', 'dht.bootstrap.route53.ttl', 30, integer(1, 172_800), 'BOOTSTRAP_MODE=route53: TTL of the SRV record, s'),
  route53Region: setting('ROUTE53_REGION', 'dht.bootstrap.route53.region', '', text, 'BOOTSTRAP_MODE=route53: signing region; empty = us-east-1 (Route 53 is global)'),
  route53Endpoint: setting('ROUTE53_ENDPOINT', 'dht.bootstrap.route53.endpoint', '', httpUrl, 'BOOTSTRAP_MODE=route53: Route 53 API endpoint override (tests, proxies)'),
  demoOrigin: setting('CACHE_DEMO_ORIGIN', 'cache.demoOrigin', '', httpUrl, 'the demo origin this cluster allow-lists; advertised in /health for cache-workload'),
  tlsCaFile: setting('TLS_CA_FILE', 'tls.caFile', '', text, 'mutual TLS: PEM of the CA every peer and client certificate must chain to'),
  tlsCertFile: setting('TLS_CERT_FILE', 'tls.certFile', '', text, "mutual TLS: PEM of this node's certificate, signed by that CA"),
  tlsKeyFile: setting('TLS_KEY_FILE', 'tls.keyFile', '', text, 'mutual TLS: PEM of its private key; all three TLS files or none (plaintext)'),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Settings = { readonly [K in SettingName]: (typeof SETTINGS)[K]['defaultValue'] };

/** Environment variable names of every setting, for manifests and their tests. */
export const SETTING_ENV_VARS: readonly string[] = Object.values(SETTINGS).map((s) => s.env);

/** The TLS settings as files, and the names to report them by. */
export function tlsFiles(s: Settings): TlsFiles {
  return { ca: s.tlsCaFile, cert: s.tlsCertFile, key: s.tlsKeyFile };
}
export const TLS_SETTING_NAMES: TlsFileNames = { ca: SETTINGS.tlsCaFile.env, cert: SETTINGS.tlsCertFile.env, key: SETTINGS.tlsKeyFile.env };

/** Problems that involve more than one setting. */
export function crossCheck(s: Settings): string[] {
  const problems: string[] = [];
  if (s.protocol === 'koorde') {
    const problem = degreeProblem(s.degree, s.idBits);
    if (problem) problems.push(`DEBRUIJN_DEGREE=${s.degree} with DHT_ID_BITS=${s.idBits}: ${problem}`);
  }
  if (s.replicationFactor - 1 > s.successorListSize) {
    problems.push(
      `REPLICATION_FACTOR=${s.replicationFactor}: replicas live on the successor list, so it may be at most SUCCESSOR_LIST_SIZE + 1 = ${s.successorListSize + 1}`,
    );
  }
  if (s.bootstrapMode === 'dns' && !s.bootstrapDnsName) problems.push('BOOTSTRAP_DNS_NAME is empty: BOOTSTRAP_MODE=dns needs the headless service name to resolve');
  if (s.tracingEnabled && s.tracingExporter === 'otlp' && !s.tracingEndpoint) {
    problems.push('TRACING_ENDPOINT is empty: TRACING_ENABLED=true with TRACING_EXPORTER=otlp needs host:port (OTLP/gRPC) or an http(s):// URL (OTLP/HTTP)');
  }
  if (s.bootstrapMode === 'route53') {
    if (!s.route53ZoneId) problems.push('ROUTE53_ZONE_ID is empty: BOOTSTRAP_MODE=route53 needs the private hosted zone id');
    if (!s.route53Suffix) problems.push('ROUTE53_SUFFIX is empty: BOOTSTRAP_MODE=route53 needs the domain of the SRV records, such as koorde.dht');
  }
  if (s.loggerMode === 'file' && !s.loggerFilePath) problems.push('LOGGER_FILE_PATH is empty: LOGGER_MODE=file needs the log file path');
  const largestMessageMB = (MAX_MESSAGE_BYTES - OBJECT_ENVELOPE_BYTES) / (1024 * 1024);
  if (s.maxObjectMB > largestMessageMB) {
    problems.push(`CACHE_MAX_OBJECT_MB=${s.maxObjectMB}: a cached object moves between nodes in one message, so it may be at most ${largestMessageMB}`);
  }
  if (s.maxObjectMB > s.capacityMB && s.capacityMB > 0) {
    problems.push(`CACHE_MAX_OBJECT_MB=${s.maxObjectMB} exceeds CACHE_CAPACITY_MB=${s.capacityMB}: no object that large could be stored`);
  }
  try {
    new OriginPolicy(s.originAllowlist);
  } catch (err) {
    problems.push(`CACHE_ORIGIN_ALLOWLIST=${JSON.stringify(s.originAllowlist.join(','))}: ${(err as Error).message}`);
  }
  const tlsProblem = tlsFilesProblem(tlsFiles(s), TLS_SETTING_NAMES);
  if (tlsProblem) problems.push(tlsProblem);
  if (s.cacheEnabled && s.httpPort === s.port) problems.push(`CACHE_HTTP_PORT=${s.httpPort} equals NODE_PORT: gRPC and HTTP need their own ports`);
  if (s.cacheEnabled && (s.peerPort === s.port || s.peerPort === s.httpPort)) {
    problems.push(`CACHE_PEER_PORT=${s.peerPort} equals ${s.peerPort === s.port ? 'NODE_PORT' : 'CACHE_HTTP_PORT'}: the peer data channel needs its own port, never the public HTTP one`);
  }
  return problems;
}
