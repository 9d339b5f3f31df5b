import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadSettings } from '../../src/config/load.js';

/** Writes `yaml` to a fresh node.yaml and returns its path. */
export function yamlFile(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'koorde-config-')), 'node.yaml');
  writeFileSync(path, yaml);
  return path;
}

/** Every problem the loader reports for these env vars (and YAML text); empty when they load. */
export function configProblems(env: Record<string, string>, yaml?: string): string[] {
  try {
    loadSettings(env, yaml === undefined ? undefined : yamlFile(yaml));
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.problems];
  }
}
