/**
 * What pod dht-node-<i> of an overlay gets from the rendered manifests: its name, namespace, DNS
 * names and the exact environment of the dht-node container (ConfigMap via envFrom, then env,
 * with the downward-API fields filled in). For tests that start real nodes the way the
 * StatefulSet does, e.g. with NODE_HOST on a loopback address and a DNS stub serving the names.
 */
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { find, type Overlay, quantity, renderOverlay, API_NAMES } from './manifests.js';

export interface PodIdentity {
  /** dht-node-<i> */
  name: string;
  namespace: string;
  /** dht-node-<i>.dht-headless.<namespace>.svc.cluster.local */
  fqdn: string;
  /** dht-headless.<namespace>.svc.cluster.local: resolves to every pod, ready or not. */
  headlessFqdn: string;
  env: Record<string, string>;
}

/** The dht-node container of the rendered StatefulSet, with its pod spec. */
export function nodeContainer(docs = renderOverlay('koorde')): { pod: IPodSpec; container: IContainer } {
  const sts = find<{ spec: { template: { spec: IPodSpec } } }>(docs, 'StatefulSet', API_NAMES.statefulSet);
  const pod = sts.spec.template.spec;
  const container = pod.containers.find((c) => c.name === API_NAMES.container);
  if (!container) throw new Error(`StatefulSet ${API_NAMES.statefulSet} has no container ${API_NAMES.container}`);
  return { pod, container };
}

/**
 * The identity and environment of pod `ordinal` of `overlay`, whose pod IP is `podIP`
 * (what status.podIP gives NODE_HOST).
 */
export function podIdentity(overlay: Overlay, ordinal: number, podIP: string): PodIdentity {
  const docs = renderOverlay(overlay);
  const { container } = nodeContainer(docs);
  const name = `${API_NAMES.statefulSet}-${ordinal}`;
  const namespace = API_NAMES.namespaces[overlay];
  // The container runtime sets HOSTNAME to the pod's name before the manifest's own variables.
  const env: Record<string, string> = { HOSTNAME: name };
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef?.name || source.prefix) throw new Error('pod-env.ts understands envFrom configMapRef without prefix only');
    const cm = find<IConfigMap>(docs, 'ConfigMap', source.configMapRef.name);
    for (const [key, value] of Object.entries(cm.data ?? {})) env[key] = value ?? '';
  }
  const fields: Record<string, string> = { 'status.podIP': podIP, 'metadata.name': name, 'metadata.namespace': namespace };
  for (const e of container.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    const resource = e.valueFrom?.resourceFieldRef;
    if (e.value !== undefined) env[e.name] = expandReferences(e.value, env);
    else if (field && field in fields) env[e.name] = fields[field]!;
    else if (resource) env[e.name] = resourceValue(container, resource.resource, resource.divisor);
    else throw new Error(`pod-env.ts cannot compute env ${e.name}`);
  }
  const headlessFqdn = `${API_NAMES.headlessService}.${namespace}.svc.cluster.local`;
  return { name, namespace, fqdn: `${name}.${headlessFqdn}`, headlessFqdn, env };
}

/** Kubernetes' $(VAR) expansion: variables defined before; an unknown reference stays as written. */
function expandReferences(value: string, env: Record<string, string>): string {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}

/** What the downward API's resourceFieldRef gives: the container's quantity over the divisor, rounded up. */
function resourceValue(container: IContainer, resource: string, divisor: string | number | undefined): string {
  const [kind, name] = resource.split('.') as ['limits' | 'requests', string];
  const amount = quantity(container.resources?.[kind]?.[name]);
  return String(Math.ceil(amount / quantity(divisor ?? 1)));
}

/** Just the environment of pod `ordinal` (see podIdentity). */
export function podEnv(overlay: Overlay, ordinal: number, podIP: string): Record<string, string> {
  return podIdentity(overlay, ordinal, podIP).env;
}
