import { fieldText, type Directives, type FieldValue } from './directives.js';

const KEY = /^[a-z*][a-z0-9_\-.*]*/;
const BARE_ITEM = /^(?:-?\d{1,15}(?:\.\d{1,3})?|"(?:[^"\\\x00-\x1f\x7f]|\\["\\])*"|[A-Za-z*][\w!#$%&'*+\-.^`|~:/]*|:[A-Za-z0-9+/=]*:|\?[01])/;

/**
 * RFC 9213 targeted cache control (`CDN-Cache-Control` and its kin): the directives of the
 * first field in `targets` (lower-case names, in order of preference) that holds a valid,
 * non-empty Structured Fields dictionary (RFC 8941 §3.2); undefined when none does, and the
 * cache then follows Cache-Control and Expires as usual. Values come out as Cache-Control
 * directives would: `true` for a bare or `?1` member, a `?0` member left out, integers and
 * strings as text, parameters ignored.
 */
export function targetedDirectives(headers: Readonly<Record<string, FieldValue>>, targets: readonly string[]): Directives | undefined {
  for (const name of targets) {
    const parsed = parseDictionary(fieldText(headers[name]));
    if (parsed !== undefined && parsed.size > 0) return parsed;
  }
  return undefined;
}

/** An RFC 8941 dictionary, undefined if the text is not one. */
function parseDictionary(text: string): Map<string, string | true> | undefined {
  const out = new Map<string, string | true>();
  let rest = text.replace(/^[ \t]+|[ \t]+$/g, '');
  while (rest !== '') {
    const key = KEY.exec(rest)?.[0];
    if (key === undefined) return undefined;
    rest = rest.slice(key.length);
    let value: string | true | false = true;
    if (rest.startsWith('=')) {
      const item = BARE_ITEM.exec(rest.slice(1))?.[0];
      if (item === undefined) return undefined;
      rest = rest.slice(1 + item.length);
      value = item === '?1' ? true : item === '?0' ? false : item.startsWith('"') ? item.slice(1, -1).replace(/\\(.)/g, '$1') : item;
    }
    // Parameters: `;key` or `;key=item`, read and ignored.
    for (let param = /^;[ ]*([a-z*][a-z0-9_\-.*]*)(=)?/.exec(rest); param; param = /^;[ ]*([a-z*][a-z0-9_\-.*]*)(=)?/.exec(rest)) {
      rest = rest.slice(param[0].length);
      if (param[2]) {
        const item = BARE_ITEM.exec(rest)?.[0];
        if (item === undefined) return undefined;
        rest = rest.slice(item.length);
      }
    }
    // A later member of the same name wins in a dictionary (RFC 8941 §4.2.2).
    out.delete(key);
    if (value !== false) out.set(key, value);
    rest = rest.replace(/^[ \t]+/, '');
    if (rest === '') break;
    if (!rest.startsWith(',')) return undefined;
    rest = rest.slice(1).replace(/^[ \t]+/, '');
    if (rest === '') return undefined; // a trailing comma
  }
  return out;
}
