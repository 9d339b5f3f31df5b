import assert from 'node:assert/strict';

/** Tags open and close in order, attributes quoted: enough to catch a broken SVG writer. */
export function assertWellFormedSvg(svg: string, name: string): void {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, name);
  const stack: string[] = [];
  for (const [, closing, tag, rest] of svg.matchAll(/<(\/?)([a-zA-Z]+)([^>]*)>/g)) {
    if (closing) assert.equal(stack.pop(), tag, `${name}: </${tag}> closes <${stack[stack.length]}>`);
    else if (!rest!.endsWith('/')) stack.push(tag!);
    assert.doesNotMatch(rest!, /=[^"\s]/, `${name}: unquoted attribute in <${tag}${rest}>`);
  }
  assert.deepEqual(stack, [], `${name}: unclosed tags`);
  assert.doesNotMatch(svg, /NaN|undefined/, name);
}
