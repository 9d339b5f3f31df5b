import { readFileSync } from 'node:fs';

export const REFERENCE_CONFIG_YAML = 'test/fixtures/reference/config.yaml';

/** The reference `dht-config` ConfigMap data as an env object (KEY=value lines, # comments). */
export function referenceConfigMap(): Record<string, string> {
  const lines = readFileSync('test/fixtures/reference/dht-config.env', 'utf8').split('\n');
  return Object.fromEntries(lines.filter((l) => l.trim() && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
