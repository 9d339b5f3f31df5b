/**
 * Where the deployment's Kubernetes objects are, how they render, and which kubernetes-models
 * class checks each kind. Shared by the deploy tests, pod-env.ts and typed-manifests.ts.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { StorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { type K8sDoc, readDocs, renderKustomization } from './kustomize.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EKS_DIR = join(REPO_ROOT, 'deploy', 'eks');
export const OVERLAYS = ['koorde', 'chord'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** The names docs/api.md fixes. */
export const API_NAMES = {
  namespaces: { koorde: 'koorde-dht', chord: 'chord-dht' } satisfies Record<Overlay, string>,
  statefulSet: 'dht-node',
  container: 'dht-node',
  podLabel: { app: 'dht-node' },
  headlessService: 'dht-headless',
  httpService: 'dht-cache-http',
  grpcService: 'dht-grpc',
  configMap: 'dht-config',
  serviceAccount: 'dht-node',
  /** The cluster's TLS CA and node certificate (made by deploy-eks.sh, not in the manifests). */
  tlsSecret: 'dht-tls',
  ports: { grpc: 4000, http: 8080, loadBalancer: 80, peer: 4001 },
} as const;

type Validatable = new (data: never) => { validate(): void };

/** kind → the model class whose validate() applies the Kubernetes JSON schema, and its module. */
export const MODELS: Record<string, { module: string; model: Validatable }> = {
  ConfigMap: { module: 'kubernetes-models/v1/ConfigMap', model: ConfigMap },
  LimitRange: { module: 'kubernetes-models/v1/LimitRange', model: LimitRange },
  Namespace: { module: 'kubernetes-models/v1/Namespace', model: Namespace },
  ResourceQuota: { module: 'kubernetes-models/v1/ResourceQuota', model: ResourceQuota },
  Service: { module: 'kubernetes-models/v1/Service', model: Service },
  ServiceAccount: { module: 'kubernetes-models/v1/ServiceAccount', model: ServiceAccount },
  Deployment: { module: 'kubernetes-models/apps/v1/Deployment', model: Deployment },
  StatefulSet: { module: 'kubernetes-models/apps/v1/StatefulSet', model: StatefulSet },
  HorizontalPodAutoscaler: { module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', model: HorizontalPodAutoscaler },
  Job: { module: 'kubernetes-models/batch/v1/Job', model: Job },
  Ingress: { module: 'kubernetes-models/networking.k8s.io/v1/Ingress', model: Ingress },
  NetworkPolicy: { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', model: NetworkPolicy },
  PodDisruptionBudget: { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', model: PodDisruptionBudget },
  StorageClass: { module: 'kubernetes-models/storage.k8s.io/v1/StorageClass', model: StorageClass },
  ServiceMonitor: { module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor', model: ServiceMonitor },
};

/** Files under deploy/eks that are not Kubernetes objects. */
const NOT_OBJECTS = new Set(['kustomization.yaml', 'cluster-config.yaml']);

/** Every Kubernetes object file under deploy/eks, repo-relative, sorted. */
export function manifestFiles(dir = EKS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return manifestFiles(path);
      return e.name.endsWith('.yaml') && !NOT_OBJECTS.has(e.name) ? [relative(REPO_ROOT, path)] : [];
    })
    .sort();
}

export function fileDocs(repoRelative: string): K8sDoc[] {
  return readDocs(join(REPO_ROOT, repoRelative));
}

export const renderBase = () => renderKustomization(join(EKS_DIR, 'base'));
export const renderOverlay = (overlay: Overlay) => renderKustomization(join(EKS_DIR, 'overlays', overlay));

/** The one object of this kind and name; throws if it is missing. */
export function find<T = K8sDoc>(docs: readonly K8sDoc[], kind: string, name: string): K8sDoc & T {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!doc) throw new Error(`no ${kind}/${name} in ${docs.map((d) => `${d.kind}/${d.metadata.name}`).join(', ')}`);
  return doc as K8sDoc & T;
}

/** Kubernetes quantities in base units (cores, bytes). */
export function quantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  const m = /^([0-9.]+)(m|Ki|Mi|Gi|Ti)?$/.exec(String(q));
  if (!m) throw new Error(`unexpected quantity ${q}`);
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}
