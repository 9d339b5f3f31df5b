/** A header field as Node gives it: one string, the lines of a repeated field, or absent. */
export type FieldValue = string | readonly string[] | undefined;

/**
 * Cache-Control directives by lower-case name: `true` for a directive without an argument, its
 * argument (unquoted) otherwise. RFC 9111 §5.2: names are case-insensitive, and a field sent on
 * several lines is one comma-separated list (RFC 9110 §5.3). A directive that appears twice
 * keeps its first occurrence (§4.2.1).
 */
export type Directives = ReadonlyMap<string, string | true>;

const NO_DIRECTIVES: Directives = new Map();

/** A singleton field sent more than once counts by its first value. */
export function firstValue(value: FieldValue): string {
  return typeof value === 'string' ? value : (value?.[0] ?? '');
}

/** The field's lines as one list, in order. */
export function fieldText(value: FieldValue): string {
  return typeof value === 'string' ? value : value === undefined ? '' : value.join(', ');
}

export function parseDirectives(value: FieldValue): Directives {
  const text = fieldText(value);
  if (text === '') return NO_DIRECTIVES;
  const out = new Map<string, string | true>();
  for (const member of splitList(text)) {
    const eq = member.indexOf('=');
    const name = (eq < 0 ? member : member.slice(0, eq)).trim().toLowerCase();
    if (name === '' || out.has(name)) continue;
    out.set(name, eq < 0 ? true : unquote(member.slice(eq + 1).trim()));
  }
  return out;
}

/**
 * RFC 9111 §1.2.2 delta-seconds: digits only (a quoted form is accepted, §5.2). Undefined for
 * anything else; a value too large for the cache counts as 2^31 seconds, as the RFC says.
 */
export function deltaSeconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), 2 ** 31);
}

/** The members of a comma-separated list, commas inside quoted strings kept. */
export function splitList(text: string): string[] {
  const members: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) quoted = !quoted;
    else if (c === 0x5c /* \ */ && quoted) i++;
    else if (c === 0x2c /* , */ && !quoted) {
      members.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  members.push(text.slice(start).trim());
  return members.filter((m) => m !== '');
}

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}
