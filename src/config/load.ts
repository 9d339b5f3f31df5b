import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { crossCheck, SETTINGS, type SettingName, type Settings } from './settings.js';
import { applyYamlAliases } from './yaml-aliases.js';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Settings from the YAML file (if any), overridden by environment variables, then validated.
 * Throws a ConfigError listing every problem at once — never falls back silently.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, yamlPath?: string): Settings {
  const problems: string[] = [];
  const yaml = yamlPath ? readYaml(yamlPath, problems) : {};
  problems.push(...applyYamlAliases(yaml), ...unknownKeys(yaml));
  const values: Partial<Record<SettingName, unknown>> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const fromEnv = env[s.env];
    const fromYaml = lookup(yaml, s.yaml);
    const [raw, source] = fromEnv !== undefined ? [fromEnv, s.env] : fromYaml !== undefined ? [fromYaml, `${s.yaml} in ${yamlPath}`] : [undefined, ''];
    if (raw === undefined) {
      values[name] = s.defaultValue;
      continue;
    }
    const parsed = s.parse(raw);
    if ('value' in parsed) values[name] = parsed.value;
    else problems.push(`${source}=${JSON.stringify(raw)}: expected ${parsed.allowed}`);
  }
  if (problems.length) throw new ConfigError(problems);
  const settings = values as Settings;
  const crossProblems = crossCheck(settings);
  if (crossProblems.length) throw new ConfigError(crossProblems);
  return settings;
}

function readYaml(path: string, problems: string[]): Record<string, unknown> {
  try {
    const doc: unknown = parseYaml(readFileSync(path, 'utf8'));
    if (doc === null || doc === undefined) return {};
    if (typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
    problems.push(`${path}: expected a mapping of settings at the top level`);
  } catch (err) {
    problems.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  return {};
}

/** YAML keys that name no setting: most likely typos, which must not be ignored silently. */
function unknownKeys(yaml: Record<string, unknown>): string[] {
  const known = new Set(Object.values(SETTINGS).map((s) => s.yaml));
  const prefixes = new Set([...known].flatMap((k) => k.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
  const problems: string[] = [];
  const walk = (node: Record<string, unknown>, path: string) => {
    for (const [key, value] of Object.entries(node)) {
      const full = path ? `${path}.${key}` : key;
      if (known.has(full)) continue;
      if (prefixes.has(full) && value && typeof value === 'object' && !Array.isArray(value)) walk(value as Record<string, unknown>, full);
      else problems.push(`${full}: unknown setting`);
    }
  };
  walk(yaml, '');
  return problems;
}

function lookup(yaml: Record<string, unknown>, dotted: string): unknown {
  let node: unknown = yaml;
  for (const part of dotted.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node ?? undefined;
}
