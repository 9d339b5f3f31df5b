import { DhtError } from '../../errors.js';

/**
 * What kind of address an origin resolved to. Everything but `public` is refused unless
 * CACHE_ORIGIN_ALLOWLIST admits it (README: Origin safety).
 */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'cgnat' | 'multicast' | 'unspecified' | 'reserved';

/** An IP address as a number: 32 bits for IPv4, 128 bits for IPv6. */
interface Ip {
  readonly version: 4 | 6;
  readonly value: bigint;
}

interface Range {
  readonly version: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
}

const IPV4_RANGES: readonly [string, AddressClass][] = [
  ['0.0.0.0/8', 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'], // includes cloud metadata 169.254.169.254
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'reserved'], // TEST-NET-1
  ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['198.51.100.0/24', 'reserved'], // TEST-NET-2
  ['203.0.113.0/24', 'reserved'], // TEST-NET-3
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // future use, and 255.255.255.255 broadcast
];

/** Matched before the IPv4-embedding forms below, which would otherwise swallow them. */
const IPV6_EXACT: readonly [string, AddressClass][] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
];

const IPV6_RANGES: readonly [string, AddressClass][] = [
  ['64:ff9b:1::/48', 'private'], // local-use NAT64 (RFC 8215): translates into the operator's own network
  ['100::/64', 'reserved'], // discard-only
  ['2001::/32', 'reserved'], // Teredo: the IPv4 client address inside is obfuscated, so refuse it whole
  ['2001:2::/48', 'reserved'], // benchmarking
  ['2001:10::/28', 'reserved'], // ORCHID
  ['2001:20::/28', 'reserved'], // ORCHIDv2
  ['2001:db8::/32', 'reserved'], // documentation
  ['3fff::/20', 'reserved'], // documentation (RFC 9637)
  ['fc00::/7', 'private'], // unique-local
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['ff00::/8', 'multicast'],
];

/**
 * IPv6 forms that carry an IPv4 address which the packet (or a translator on its way) ends up
 * at. They are classified by that IPv4 address, so ::ffff:169.254.169.254 is link-local.
 * `bits` is where the 32 IPv4 bits start, counted from the top.
 */
const EMBEDDED_IPV4: readonly { range: string; bits: number }[] = [
  { range: '::ffff:0:0/96', bits: 96 }, // IPv4-mapped
  { range: '::/96', bits: 96 }, // deprecated IPv4-compatible (:: and ::1 are matched before)
  { range: '::ffff:0:0:0/96', bits: 96 }, // IPv4-translated (SIIT)
  { range: '64:ff9b::/96', bits: 96 }, // well-known NAT64 prefix: a NAT64 gateway connects to the IPv4 inside
  { range: '2002::/16', bits: 16 }, // 6to4
];

const table = (rows: readonly [string, AddressClass][]) => rows.map(([cidr, cls]) => ({ range: knownCidr(cidr), cls }));
const v4Ranges = table(IPV4_RANGES);
const v6Exact = table(IPV6_EXACT);
const v6Ranges = table(IPV6_RANGES);
const embedded = EMBEDDED_IPV4.map(({ range, bits }) => ({ range: knownCidr(range), shift: BigInt(128 - bits - 32) }));
const GLOBAL_UNICAST_V6 = knownCidr('2000::/3');

/**
 * The class of an IP address in canonical text form (as dns.lookup returns it, or a URL
 * hostname without brackets; a `%zone` suffix is ignored). Anything that is not an address
 * in that form is an ERR_INVALID_ARGUMENT: pass host names through normalizeHost and DNS first.
 */
export function classifyAddress(ip: string): AddressClass {
  const parsed = parseIp(ip);
  if (!parsed) throw new DhtError('ERR_INVALID_ARGUMENT', `"${ip}" is not an IPv4 or IPv6 address`);
  return classify(parsed);
}

function classify(ip: Ip): AddressClass {
  if (ip.version === 4) return v4Ranges.find((r) => contains(r.range, ip))?.cls ?? 'public';
  const exact = v6Exact.find((r) => contains(r.range, ip));
  if (exact) return exact.cls;
  const inner = embedded.find((e) => contains(e.range, ip));
  if (inner) return classify({ version: 4, value: (ip.value >> inner.shift) & 0xffffffffn });
  const special = v6Ranges.find((r) => contains(r.range, ip));
  if (special) return special.cls;
  // Outside 2000::/3 nothing is allocated for global unicast: refuse what we cannot name.
  return contains(GLOBAL_UNICAST_V6, ip) ? 'public' : 'reserved';
}

/**
 * A host as the WHATWG URL parser sees it: lower case, IDN as punycode, and every IPv4
 * spelling (2130706433, 0x7f000001, 0177.0.0.1, 127.1) turned into a dotted quad. IPv6
 * literals come back compressed and without brackets. A host the parser rejects, or text
 * that is more than a host (a port, a path, credentials), is an ERR_INVALID_ARGUMENT.
 */
export function normalizeHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const literal = bare.includes(':') ? `[${bare}]` : bare;
  let url: URL;
  try {
    url = new URL(`http://${literal}/`);
  } catch (err) {
    throw new DhtError('ERR_INVALID_ARGUMENT', `"${host}" is not a valid host name or IP address`, { cause: err });
  }
  if (url.port !== '' || url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '' || literal === '') {
    throw new DhtError('ERR_INVALID_ARGUMENT', `"${host}" is not a bare host name or IP address`);
  }
  const hostname = url.hostname;
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d is the same endpoint), else itself. */
function unmapped(ip: Ip): Ip {
  return ip.version === 6 && ip.value >> 32n === 0xffffn ? { version: 4, value: ip.value & 0xffffffffn } : ip;
}

/**
 * Which origins may be fetched. Public addresses always may; internal ones (every other
 * AddressClass) only when CACHE_ORIGIN_ALLOWLIST names the host name (exact, case-insensitive)
 * or contains the address (single IPs or CIDRs, IPv4 or IPv6).
 */
export class OriginPolicy {
  private readonly hosts = new Set<string>();
  private readonly ranges: Range[] = [];

  /** @throws DhtError ERR_INVALID_ARGUMENT naming the first entry that is neither a host, an IP nor a CIDR. */
  constructor(allowlist: readonly string[]) {
    for (const raw of allowlist) {
      const entry = raw.trim();
      if (entry === '') continue;
      const range = parseAllowlistEntry(entry);
      if (typeof range === 'string') this.hosts.add(range);
      else this.ranges.push(range);
    }
  }

  /** Whether `hostname` may be fetched at `address`, without saying why not. */
  permits(hostname: string, address: string): boolean {
    return this.refusal(hostname, address) === undefined;
  }

  /**
   * Throws ERR_ORIGIN_FORBIDDEN unless `hostname`, connecting to `address`, is allowed.
   * `address` must be an IP in canonical text form (ERR_INVALID_ARGUMENT otherwise).
   */
  check(hostname: string, address: string): void {
    const refusal = this.refusal(hostname, address);
    if (refusal) throw refusal;
  }

  private refusal(hostname: string, address: string): DhtError | undefined {
    const ip = parseIp(address);
    if (!ip) throw new DhtError('ERR_INVALID_ARGUMENT', `"${address}" is not an IPv4 or IPv6 address`);
    const cls = classify(ip);
    if (cls === 'public') return undefined;
    if (this.hosts.has(hostKey(hostname))) return undefined;
    const target = unmapped(ip);
    if (this.ranges.some((r) => contains(r, target))) return undefined;
    const host = hostKey(hostname);
    const article = /^[aeiou]/.test(cls) ? 'an' : 'a';
    if (parseIp(host) !== undefined || host === '') {
      return new DhtError('ERR_ORIGIN_FORBIDDEN', `origin ${address} is ${article} ${cls} address; internal origins are refused — add "${address}" to CACHE_ORIGIN_ALLOWLIST to allow it`);
    }
    // The client named a host; which internal address it resolved to is for the operator's
    // log (the cause), not for the client, who would learn the inside of the network.
    return new DhtError(
      'ERR_ORIGIN_FORBIDDEN',
      `origin host "${host}" resolves to an internal address; internal origins are refused — add "${host}" to CACHE_ORIGIN_ALLOWLIST to allow it`,
      { cause: new Error(`"${host}" resolved to ${address}, ${article} ${cls} address`) },
    );
  }
}

/** Host names compare in lower case, without a trailing root dot or IPv6 brackets. */
function hostKey(hostname: string): string {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return bare.toLowerCase().replace(/\.$/, '');
}

function parseAllowlistEntry(entry: string): Range | string {
  const bad = (why: string, cause?: unknown) =>
    new DhtError('ERR_INVALID_ARGUMENT', `CACHE_ORIGIN_ALLOWLIST entry "${entry}" ${why}`, cause === undefined ? undefined : { cause });
  const notAHost = 'is not a host name, an IP address or a CIDR (no scheme, port or path)';
  if (entry.includes('/')) {
    const range = parseCidr(entry);
    if (!range) throw bad(/^[^/]+\/\d*$/.test(entry) ? 'is not a valid CIDR (expected e.g. 10.0.0.0/8 or fd00::/8)' : notAHost);
    // A v4-mapped range such as ::ffff:10.0.0.0/104 is the IPv4 range 10.0.0.0/8, which is what it is matched against.
    const mapped = range.version === 6 && range.prefix >= 96 && range.base >> 32n === 0xffffn;
    return mapped ? { version: 4, base: range.base & 0xffffffffn, prefix: range.prefix - 96 } : range;
  }
  const bracketless = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
  const v6 = parseIp(bracketless);
  if (v6) return toRange(v6);
  if (entry.includes('*')) throw bad('has a wildcard; list each host name exactly');
  if (!/^[a-z0-9._-]+$/i.test(entry)) throw bad(notAHost);
  let host: string;
  try {
    host = normalizeHost(entry);
  } catch (err) {
    throw bad('is not a valid host name', err);
  }
  // 127.1 or 0x7f000001 are IPv4 spellings: treat them as the address the URL parser makes of them.
  const ip = parseIp(host);
  return ip ? toRange(ip) : hostKey(host);
}

function toRange(ip: Ip): Range {
  const target = unmapped(ip);
  return { version: target.version, base: target.value, prefix: target.version === 4 ? 32 : 128 };
}

function contains(range: Range, ip: Ip): boolean {
  if (range.version !== ip.version) return false;
  const width = ip.version === 4 ? 32 : 128;
  const shift = BigInt(width - range.prefix);
  return ip.value >> shift === range.base >> shift;
}

/** A CIDR of the tables above, which are constants: a typo there is a bug, not bad input. */
function knownCidr(cidr: string): Range {
  const range = parseCidr(cidr);
  if (!range) throw new Error(`bad built-in CIDR ${cidr}`);
  return range;
}

function parseCidr(text: string): Range | undefined {
  const match = /^\[?([^\]/]+)\]?\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const ip = parseIp(match[1]!);
  const prefix = Number(match[2]);
  if (!ip || prefix > (ip.version === 4 ? 32 : 128)) return undefined;
  return { version: ip.version, base: ip.value, prefix };
}

/** Canonical IPv4 (four decimal octets) or any valid IPv6 text; undefined for anything else. */
function parseIp(text: string): Ip | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, value: v4 };
  const v6 = parseIpv6(text.replace(/%[^%]+$/, ''));
  return v6 === undefined ? undefined : { version: 6, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const words = half.split(':');
    for (const [i, word] of words.entries()) {
      if (i === words.length - 1 && word.includes('.')) {
        const v4 = parseIpv4(word);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-f]{1,4}$/i.test(word)) {
        out.push(parseInt(word, 16));
      } else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // An IPv4 tail may only end the address, never sit before '::'.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<number>(missing).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}
