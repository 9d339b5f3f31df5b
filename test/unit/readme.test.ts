import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SETTINGS } from '../../src/config/settings.js';

describe('docs - README', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('starts with the two commands a newcomer needs', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    assert.match(firstBlock, /^npm ci && npm start/m);
    assert.match(firstBlock, /^npm test/m);
  });

  it('documents every setting the loader knows, with its YAML key', () => {
    for (const s of Object.values(SETTINGS)) assert.ok(readme.includes(`| \`${s.env}\` | ${s.yaml} |`), `${s.env} is missing from the configuration table`);
  });
});
