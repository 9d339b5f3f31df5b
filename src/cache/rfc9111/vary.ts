import { fieldText, splitList, type FieldValue } from './directives.js';

/**
 * Request fields whose value is a list of preferences: the order and case of their members do
 * not change what the client accepts (RFC 9110 §12.5), so `en-US, fr` and `fr,EN-us` select
 * the same stored variant.
 */
const PREFERENCE_LISTS: ReadonlySet<string> = new Set(['accept', 'accept-charset', 'accept-encoding', 'accept-language']);

/**
 * A request field's value as Vary matching compares it (RFC 9111 §4.1: values may be
 * normalised when the field's syntax allows): whitespace around members and runs of it do not
 * count, nor, for preference lists, case and order.
 */
export function varyValue(name: string, value: FieldValue): string {
  const text = fieldText(value);
  if (PREFERENCE_LISTS.has(name)) {
    return splitList(text)
      .map((m) => m.toLowerCase().replace(/\s*;\s*/g, ';').replace(/\s*=\s*/g, '='))
      .sort()
      .join(',');
  }
  return text.trim().replace(/\s*,\s*/g, ',').replace(/[ \t]+/g, ' ');
}
