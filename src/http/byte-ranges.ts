import type { ServedResponse } from '../cache/cache-service.js';

/** A satisfiable single range of a body of `length` bytes: first and last byte, inclusive. */
type Span = { readonly first: number; readonly last: number };

/** One `first-last`, `first-` or `-suffix` range-spec (RFC 9110 §14.1.1). */
const RANGE_SPEC = /^\s*(\d*)\s*-\s*(\d*)\s*$/;

/**
 * A GET's Range answered from a complete 200 (RFC 9110 §14.2): one satisfiable range gives a
 * 206 with Content-Range, an unsatisfiable one a 416 with the current length. The whole 200
 * stands for anything else, as §14.2 lets a server ignore Range: no Range, another status,
 * an If-Range that does not match (§13.1.5), another unit, an invalid range-spec, or several
 * ranges (one body, rather than a multipart/byteranges of pieces the client could merge).
 */
export async function answerRange(served: ServedResponse, request: Readonly<Record<string, string>>): Promise<ServedResponse> {
  const range = request['range'];
  if (range === undefined || served.status !== 200) return served;
  const headers = served.headers;
  const ifRange = request['if-range'];
  if (ifRange !== undefined && !ifRangeMatches(ifRange, headers)) return served;
  const specs = /^\s*bytes\s*=(.*)$/i.exec(range)?.[1]?.split(',');
  if (specs === undefined || specs.length !== 1) return served;
  const spec = RANGE_SPEC.exec(specs[0]!);
  if (!spec || (spec[1] === '' && spec[2] === '') || (spec[1] !== '' && spec[2] !== '' && Number(spec[1]) > Number(spec[2]))) return served;
  const body = await whole(served.body);
  const span = satisfiable(spec[1]!, spec[2]!, body.length);
  const { 'content-length': _length, ...rest } = headers;
  if (span === undefined) {
    return { status: 416, headers: { ...rest, 'content-range': `bytes */${body.length}` }, body: Buffer.alloc(0) };
  }
  return {
    status: 206,
    headers: { ...rest, 'content-range': `bytes ${span.first}-${span.last}/${body.length}` },
    body: body.subarray(span.first, span.last + 1),
  };
}

/** The bytes a valid range-spec selects of `length`, or undefined when none (RFC 9110 §14.1.1). */
function satisfiable(first: string, last: string, length: number): Span | undefined {
  if (first === '') {
    const suffix = Number(last);
    return suffix === 0 || length === 0 ? undefined : { first: Math.max(0, length - suffix), last: length - 1 };
  }
  const start = Number(first);
  if (start >= length) return undefined;
  return { first: start, last: last === '' ? length - 1 : Math.min(Number(last), length - 1) };
}

/**
 * If-Range (RFC 9110 §13.1.5): an entity-tag matches a strong ETag that is the same; a date
 * matches a Last-Modified that is exactly that date. A weak tag never matches.
 */
function ifRangeMatches(condition: string, headers: ServedResponse['headers']): boolean {
  const value = condition.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    const etag = headers['etag'];
    return typeof etag === 'string' && !value.startsWith('W/') && etag.trim() === value;
  }
  const modified = headers['last-modified'];
  const since = Date.parse(value);
  return typeof modified === 'string' && Number.isFinite(since) && Date.parse(modified) === since;
}

/** The body in one buffer: a range is cut from the whole response, which is bounded by CACHE_MAX_OBJECT_MB. */
async function whole(body: Buffer | AsyncIterable<Buffer>): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk);
  return Buffer.concat(parts);
}
