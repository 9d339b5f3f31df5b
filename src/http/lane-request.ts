import { TOKEN } from '../cache/origin/headers.js';

/**
 * The request heads the cache lane (cache-lane.ts) answers itself: `GET` or `HEAD` of /cache, HTTP/1.1,
 * no body, one Host, every line in the plain form RFC 9112 gives. Anything else, including
 * every malformed head, is not judged here but left to node:http, whose parser decides
 * what is an error: the lane only ever accepts a strict subset of what node:http accepts.
 */

/** node:http's default limit on a request head (--max-http-header-size); larger ones are its to refuse (431). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** More field lines than any client of the cache sends: such a head goes to node:http. */
const MAX_FIELD_LINES = 64;

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const REQUEST_LINE = /^(GET|HEAD) (\/cache(?:\?[\x21-\x7e]*)?) HTTP\/1\.1$/;
/** A field value as RFC 9110 §5.5 allows it: no control character but tab (obs-text allowed, as node:http does). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CLOSE = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;

/** /cache?url=: the client fields that matter to caching decisions and to the origin (http-server.ts passes on only these). */
export const CACHE_REQUEST_HEADERS: readonly string[] = ['accept', 'accept-encoding', 'accept-language', 'user-agent', 'cache-control', 'pragma', 'if-none-match', 'if-modified-since'];
const KEPT_FIELDS: ReadonlySet<string> = new Set(CACHE_REQUEST_HEADERS);
/** Of those, the ones node:http keeps the first of when a client repeats them; it joins the others' values. */
const FIRST_WINS: ReadonlySet<string> = new Set(['user-agent', 'if-modified-since']);
/** Fields that mean a body, a protocol switch or an interim answer: node:http's to handle. */
const FOREIGN_FIELDS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade']);

export interface LaneRequest {
  readonly method: 'GET' | 'HEAD';
  /** The request target as sent: /cache or /cache?… */
  readonly url: string;
  /** The fields the cache reads, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The client asked to close the connection after this answer. */
  readonly close: boolean;
  /** Offset of the byte after the head in the buffer it was read from. */
  readonly end: number;
}

/** `line` from `from` on without the optional white space (space, tab) around a field value. */
function withoutOws(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && isOws(line.charCodeAt(start))) start++;
  while (end > start && isOws(line.charCodeAt(end - 1))) end--;
  return line.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * The request head that starts at `from` in `buf`: 'partial' while its end has not arrived,
 * 'foreign' when the lane does not answer it (node:http does).
 */
export function readLaneRequest(buf: Buffer, from: number): LaneRequest | 'partial' | 'foreign' {
  const end = buf.indexOf(HEAD_END, from);
  if (end < 0) return buf.length - from > MAX_HEAD_BYTES ? 'foreign' : 'partial';
  if (end - from > MAX_HEAD_BYTES) return 'foreign';
  const lines = buf.toString('latin1', from, end).split('\r\n');
  if (lines.length > MAX_FIELD_LINES + 1) return 'foreign';
  const start = REQUEST_LINE.exec(lines[0]!);
  if (!start) return 'foreign';
  const headers: Record<string, string> = {};
  let hosts = 0;
  let close = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon < 1 || !TOKEN.test(name)) return 'foreign';
    const value = withoutOws(line, colon + 1);
    if (!FIELD_VALUE.test(value)) return 'foreign';
    const lower = name.toLowerCase();
    if (lower === 'host') hosts++;
    else if (lower === 'connection') close ||= CLOSE.test(value);
    else if (FOREIGN_FIELDS.has(lower)) return 'foreign';
    if (!KEPT_FIELDS.has(lower)) continue;
    const seen = headers[lower];
    headers[lower] = seen === undefined ? value : FIRST_WINS.has(lower) ? seen : `${seen}, ${value}`;
  }
  if (hosts !== 1) return 'foreign';
  return { method: start[1] as 'GET' | 'HEAD', url: start[2]!, headers, close, end: end + HEAD_END.length };
}
