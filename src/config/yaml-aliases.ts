/**
 * YAML keys of the original KoordeDHT-Web-Cache config.yaml that name one of our settings
 * differently. Their files load unchanged; giving both spellings with different values is an error.
 */
const YAML_ALIASES: Readonly<Record<string, string>> = {
  'logger.active': 'logger.enabled',
};

/** Moves aliased keys to their canonical place in a parsed YAML tree; returns conflicts. */
export function applyYamlAliases(yaml: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [alias, canonical] of Object.entries(YAML_ALIASES)) {
    const from = parentOf(yaml, alias, false);
    const aliasKey = alias.split('.').at(-1)!;
    if (!from || !(aliasKey in from)) continue;
    const value = from[aliasKey];
    delete from[aliasKey];
    const to = parentOf(yaml, canonical, true)!;
    const key = canonical.split('.').at(-1)!;
    if (key in to && to[key] !== value) problems.push(`${alias} and ${canonical} disagree (${JSON.stringify(value)} vs ${JSON.stringify(to[key])}): give one of them`);
    else to[key] = value;
  }
  return problems;
}

function parentOf(yaml: Record<string, unknown>, dotted: string, create: boolean): Record<string, unknown> | undefined {
  let node = yaml;
  for (const part of dotted.split('.').slice(0, -1)) {
    const next = node[part];
    if (next && typeof next === 'object' && !Array.isArray(next)) node = next as Record<string, unknown>;
    else if (create && next === undefined) node = node[part] = {};
    else return undefined;
  }
  return node;
}
