/**
 * A small offline renderer for the kustomize features deploy/eks uses — resources (files and
 * directories), namespace, labels (metadata only) and strategic-merge patches of maps selected by
 * kind and name — so the overlays can be checked without kubectl. Anything else in a
 * kustomization is refused with an error rather than rendered wrongly. When kubectl is installed,
 * manifests.test.ts compares this renderer's output with `kubectl kustomize`.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/** One Kubernetes object as parsed from YAML. */
export interface K8sDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** A strategic-merge patch as written in a kustomization, with where it came from. */
export interface KustomizePatch {
  source: string;
  target: { kind: string; name: string };
  doc: Record<string, unknown>;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  patches?: { target?: { kind?: string; name?: string }; patch?: string; path?: string }[];
}

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'labels', 'patches']);
/** Kinds the namespace transformer leaves alone. */
const CLUSTER_SCOPED = new Set(['Namespace', 'StorageClass', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'IngressClass']);

/** Every document of a (multi-document) YAML file. */
export function readDocs(path: string): K8sDoc[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => {
      if (d.errors.length) throw new Error(`${path}: ${d.errors[0]!.message}`);
      return d.toJS() as K8sDoc | null;
    })
    .filter((d): d is K8sDoc => d !== null);
}

export const docId = (d: K8sDoc) => `${d.kind}/${d.metadata.name}`;

function readKustomization(dir: string): Kustomization {
  const path = join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(path, 'utf8')) as Kustomization;
  const unsupported = Object.keys(k).filter((f) => !SUPPORTED_FIELDS.has(f));
  if (unsupported.length) throw new Error(`${path}: ${unsupported.join(', ')} not supported by test/deploy/kustomize.ts (extend it, and its kubectl comparison)`);
  return k;
}

/** The patches a kustomization directory declares (not those of the bases it includes). */
export function patchesOf(dir: string): KustomizePatch[] {
  return (readKustomization(dir).patches ?? []).map((p, i) => {
    const source = `${join(dir, 'kustomization.yaml')}#patches[${i}]`;
    if (!p.target?.kind || !p.target.name) throw new Error(`${source}: give the target's kind and name`);
    const text = p.patch ?? (p.path ? readFileSync(join(dir, p.path), 'utf8') : undefined);
    if (text === undefined) throw new Error(`${source}: needs patch or path`);
    return { source, target: { kind: p.target.kind, name: p.target.name }, doc: parse(text) as Record<string, unknown> };
  });
}

/** The objects `kubectl kustomize dir` would print (order aside). */
export function renderKustomization(dir: string): K8sDoc[] {
  const k = readKustomization(dir);
  const docs = (k.resources ?? []).flatMap((r) => {
    const path = resolve(dir, r);
    return statSync(path).isDirectory() ? renderKustomization(path) : readDocs(path);
  });
  const seen = new Set<string>();
  for (const d of docs) {
    if (seen.has(docId(d))) throw new Error(`${dir}: ${docId(d)} appears twice`);
    seen.add(docId(d));
  }
  for (const patch of patchesOf(dir)) {
    const target = docs.find((d) => d.kind === patch.target.kind && d.metadata.name === patch.target.name);
    if (!target) throw new Error(`${patch.source}: no ${patch.target.kind}/${patch.target.name} to patch`);
    mergeInto(target as unknown as Record<string, unknown>, patch.doc, patch.source);
  }
  for (const l of k.labels ?? []) {
    if (l.includeSelectors || l.includeTemplates) throw new Error(`${dir}: labels with includeSelectors/includeTemplates are not supported`);
    for (const d of docs) d.metadata.labels = { ...d.metadata.labels, ...l.pairs };
  }
  if (k.namespace) for (const d of docs) if (!CLUSTER_SCOPED.has(d.kind)) d.metadata.namespace = k.namespace;
  return docs;
}

/** Strategic merge restricted to maps: a list in a patch would need merge keys, so it is refused. */
function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>, source: string, path = ''): void {
  for (const [key, value] of Object.entries(patch)) {
    const here = `${path}.${key}`;
    if (value === null) delete target[key];
    else if (Array.isArray(value)) throw new Error(`${source}: ${here} is a list; this renderer merges maps only`);
    else if (typeof value === 'object') {
      const existing = target[key];
      if (existing === undefined) target[key] = structuredClone(value);
      else if (existing && typeof existing === 'object' && !Array.isArray(existing)) mergeInto(existing as Record<string, unknown>, value as Record<string, unknown>, source, here);
      else throw new Error(`${source}: ${here} patches a map onto a non-map`);
    } else target[key] = value;
  }
}
