/** How the generator addresses a cluster (docs/api.md). */
export const WORKLOAD_MODES = ['cache', 'gateway'] as const;
export type WorkloadMode = (typeof WORKLOAD_MODES)[number];

/** The placeholder in `--url-template` that becomes the sampled rank. */
export const RANK_PLACEHOLDER = '{i}';

/** The origin URL of one object: the template with every `{i}` replaced by its rank. */
export function objectUrl(template: string, rank: number): string {
  return template.replaceAll(RANK_PLACEHOLDER, String(rank));
}

/** Where requests to a target go: its origin, and the path it is mounted at ('' at the root). */
export interface TargetAddress {
  readonly origin: string;
  readonly prefix: string;
}

export function targetAddress(target: string): TargetAddress {
  const url = new URL(target);
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/**
 * The path and query to GET from a target for an object. `cache`: the API path
 * `/cache?url=<percent-encoded URL>`. `gateway`: the object's own path and query, for a node that
 * proxies one origin.
 */
export function requestPath(object: string, mode: WorkloadMode): string {
  if (mode === 'cache') return `/cache?url=${encodeURIComponent(object)}`;
  const { pathname, search } = new URL(object);
  return `${pathname}${search}`;
}

/** Why a template cannot be used, or undefined if it can. */
export function templateProblem(template: string): string | undefined {
  if (!template.includes(RANK_PLACEHOLDER)) return `--url-template must contain ${RANK_PLACEHOLDER}, got "${template}"`;
  let url: URL;
  try {
    url = new URL(objectUrl(template, 1));
  } catch {
    return `--url-template must be an absolute http(s) URL, got "${template}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--url-template must be an http(s) URL, got "${template}"`;
  return undefined;
}

/** Why a target base URL cannot be used, or undefined if it can. */
export function targetProblem(target: string): string | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return `a target must be an absolute http(s) URL such as http://127.0.0.1:8080, got "${target}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `a target must be an http(s) URL, got "${target}"`;
  if (url.search || url.hash) return `a target must not have a query or fragment, got "${target}"`;
  return undefined;
}
