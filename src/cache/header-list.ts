import type { Headers } from './freshness.js';

/**
 * Header fields as `[name, value, name, value, …]`, a multi-valued field once per value: the
 * form `res.writeHead` takes as it is, without copying or re-keying, and smaller in the heap
 * than a map per response.
 */
export type HeaderList = readonly string[];

export function toHeaderList(headers: Headers, skip?: ReadonlySet<string>): string[] {
  const list: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || skip?.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) list.push(name, v);
    else list.push(name, value);
  }
  return list;
}

/** The map form, a repeated name's values as an array in order. */
export function fromHeaderList(list: HeaderList): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    const seen = out[name];
    out[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}

/** The first value of `name` (lower case), if the list has it. */
export function listValue(list: HeaderList, name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}
