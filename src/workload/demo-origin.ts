/** Path of object {i} on a demo origin (koorde-origin serves /obj/<anything>). */
const DEMO_OBJECT_PATH = '/obj/{i}';

export type TemplateChoice = { readonly urlTemplate: string } | { readonly problem: string };

/**
 * The URL template to use when none is given: objects of the demo origin the target advertises
 * (CACHE_DEMO_ORIGIN, in /health details), which that cluster allow-lists. Without one, a
 * sentence that says what to pass — a guessed origin would only earn 403s and 502s.
 */
export async function demoOriginTemplate(target: string, timeoutMs: number, fetchFn: typeof fetch = fetch): Promise<TemplateChoice> {
  const hint = `pass --url-template 'http://<an origin the cluster may fetch>/obj/{i}'`;
  let advertised: unknown;
  try {
    // 503 (not ready yet) answers carry the same details.
    const res = await fetchFn(new URL('/health', target), { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { details?: { demo_origin?: unknown } };
    advertised = body?.details?.demo_origin;
  } catch (err) {
    return { problem: `no --url-template given and ${target}/health could not be read to find the cluster's demo origin (${(err as Error).message}): ${hint}` };
  }
  if (typeof advertised !== 'string' || !/^https?:\/\/[^\s]+$/i.test(advertised)) {
    return { problem: `no --url-template given and ${target} advertises no demo origin (CACHE_DEMO_ORIGIN is not set there): ${hint}` };
  }
  return { urlTemplate: `${advertised.replace(/\/+$/, '')}${DEMO_OBJECT_PATH}` };
}
