/** Longest string shared: longer ones are rarely repeated, and the table must stay small whatever comes in. */
const MAX_SHARED_LENGTH = 256;

/**
 * Strings many stored responses repeat, kept once: a header parser makes a new string for every
 * value it reads, so a thousand responses with `Content-Type: text/html` would hold a thousand
 * copies. `of` answers the string already kept for an equal one. Values seen once (an ETag)
 * pass through and are forgotten, oldest first, once `capacity` strings are remembered; a common
 * value forgotten that way is remembered again the next time it comes, so a few copies of it
 * survive at most.
 */
export class SharedStrings {
  readonly #kept = new Map<string, string>();

  constructor(private readonly capacity: number) {}

  of(s: string): string {
    const kept = this.#kept.get(s);
    if (kept !== undefined) return kept;
    if (s.length <= MAX_SHARED_LENGTH) {
      this.#kept.set(s, s);
      if (this.#kept.size > this.capacity) this.#kept.delete(this.#kept.keys().next().value!);
    }
    return s;
  }
}
