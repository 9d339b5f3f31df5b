import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { dirname } from 'node:path';
import { loadSettings } from '../../src/config/load.js';
import { SETTING_ENV_VARS, tlsFiles } from '../../src/config/settings.js';
import type { K8sDoc } from './kustomize.js';
import { fileDocs, find, OVERLAYS, quantity, renderOverlay, API_NAMES } from './manifests.js';
import { nodeContainer, podIdentity } from './pod-env.js';

/** IPv4 CIDR → [first, last] address as numbers. */
function cidrRange(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/');
  const base = ip!.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return [base - (base % size), base - (base % size) + size - 1];
}
/** The optional HPA: applied per namespace on top of an overlay, so checked against each. */
const OPTIONAL_HPA = () => fileDocs('deploy/eks/optional/hpa.yaml');
const ipOf = (ip: string) => cidrRange(`${ip}/32`)[0];
const contains = (cidr: string, ip: number) => {
  const [lo, hi] = cidrRange(cidr);
  return ip >= lo && ip <= hi;
};

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Every workload's pod labels and containers. */
function podTemplates(docs: readonly K8sDoc[]) {
  return docs.flatMap((d) => {
    const template = (d.spec as { template?: { metadata?: { labels?: Record<string, string> }; spec: { containers: IContainer[] } } } | undefined)?.template;
    return template ? [{ owner: `${d.kind}/${d.metadata.name}`, labels: template.metadata?.labels ?? {}, containers: template.spec.containers }] : [];
  });
}

for (const overlay of OVERLAYS) {
  describe(`deploy - cross-references - ${overlay}`, () => {
    const docs = renderOverlay(overlay);
    const ns = API_NAMES.namespaces[overlay];
    const { pod, container } = nodeContainer(docs);
    const sts = find<{ spec: { selector: { matchLabels: Record<string, string> }; serviceName: string; template: { metadata: { labels: Record<string, string> } } } }>(
      docs,
      'StatefulSet',
      API_NAMES.statefulSet,
    );
    const podLabels = sts.spec.template.metadata.labels;
    const env = podIdentity(overlay, 0, '10.0.0.10').env;

    it('uses the names of docs/api.md', () => {
      assert.ok(find(docs, 'Namespace', ns));
      for (const d of docs) if (d.kind !== 'Namespace' && d.kind !== 'StorageClass') assert.equal(d.metadata.namespace, ns, `${d.kind}/${d.metadata.name}`);
      for (const [kind, name] of [
        ['ConfigMap', API_NAMES.configMap],
        ['ServiceAccount', API_NAMES.serviceAccount],
        ['Service', API_NAMES.headlessService],
        ['Service', API_NAMES.httpService],
        ['PodDisruptionBudget', API_NAMES.statefulSet],
        ['NetworkPolicy', API_NAMES.statefulSet],
      ] as const) {
        assert.ok(find(docs, kind, name));
      }
      assert.equal(container.name, API_NAMES.container);
      assert.equal(pod.serviceAccountName, API_NAMES.serviceAccount);
      assert.deepEqual(
        container.ports?.map((p) => [p.name, p.containerPort]),
        [
          ['grpc', API_NAMES.ports.grpc],
          ['http', API_NAMES.ports.http],
          ['peer', API_NAMES.ports.peer],
        ],
      );
      assert.ok(matches(API_NAMES.podLabel, podLabels));
      assert.equal(sts.spec.serviceName, API_NAMES.headlessService);
    });

    it('selectors match the pod labels they are meant for', () => {
      assert.ok(matches(sts.spec.selector.matchLabels, podLabels), 'StatefulSet selector');
      for (const svc of docs.filter((d) => d.kind === 'Service') as (K8sDoc & IService)[]) {
        const selected = podTemplates(docs).filter((t) => matches(svc.spec?.selector, t.labels));
        assert.equal(selected.length, 1, `Service ${svc.metadata.name} selects exactly one workload`);
      }
      const pdb = find<IPodDisruptionBudget>(docs, 'PodDisruptionBudget', API_NAMES.statefulSet);
      assert.ok(matches(pdb.spec?.selector?.matchLabels, podLabels), 'PDB');
      const np = find<INetworkPolicy>(docs, 'NetworkPolicy', API_NAMES.statefulSet);
      assert.ok(matches(np.spec?.podSelector.matchLabels, podLabels), 'NetworkPolicy');
      const hpa = find<IHorizontalPodAutoscaler>(OPTIONAL_HPA(), 'HorizontalPodAutoscaler', API_NAMES.statefulSet);
      assert.deepEqual(hpa.spec?.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: API_NAMES.statefulSet });
    });

    it('Service ports lead to container ports', () => {
      for (const svc of docs.filter((d) => d.kind === 'Service') as (K8sDoc & IService)[]) {
        const [workload] = podTemplates(docs).filter((t) => matches(svc.spec?.selector, t.labels));
        const ports = workload!.containers.flatMap((c) => c.ports ?? []);
        for (const p of svc.spec?.ports ?? []) {
          const target = p.targetPort ?? p.port;
          const found = ports.find((cp) => (typeof target === 'string' ? cp.name === target : cp.containerPort === target));
          assert.ok(found, `Service ${svc.metadata.name} port ${p.port} → ${target}`);
          assert.equal(p.protocol ?? 'TCP', found.protocol ?? 'TCP');
        }
      }
      const http = find<IService>(docs, 'Service', API_NAMES.httpService);
      assert.equal(http.spec?.type, 'LoadBalancer');
      assert.deepEqual(
        http.spec?.ports?.map((p) => [p.port, p.targetPort]),
        [[API_NAMES.ports.loadBalancer, 'http']],
      );
      assert.equal(http.metadata?.annotations?.['service.beta.kubernetes.io/aws-load-balancer-healthcheck-path'], '/health');
      const headless = find<IService>(docs, 'Service', API_NAMES.headlessService);
      assert.equal(headless.spec?.clusterIP, 'None');
      assert.equal(headless.spec?.publishNotReadyAddresses, true, 'joining pods must find each other before any is ready');
    });

    it('sets every setting the loader knows, and nothing else', () => {
      const known = new Set(SETTING_ENV_VARS);
      // The runtime's own variables: the pod's name (read by NODE_ID_STRATEGY=ordinal) and the heap
      // ceiling derived from the container's memory limit.
      const runtime = new Set(['HOSTNAME', 'HEAP_LIMIT_MIB', 'NODE_OPTIONS']);
      const unknown = Object.keys(env).filter((k) => !known.has(k) && !runtime.has(k));
      assert.deepEqual(unknown, [], 'env vars the node would ignore');
      const missing = SETTING_ENV_VARS.filter((k) => !(k in env));
      assert.deepEqual(missing, [], 'settings left to defaults: give them in base/configmap.yaml');
      assert.equal(pod.enableServiceLinks, false, 'service links would add *_PORT variables');
    });

    it('each pod environment passes the config loader, with DNS bootstrap through the headless Service', () => {
      for (const ordinal of [0, 3]) {
        const { env: podEnv, headlessFqdn, fqdn } = podIdentity(overlay, ordinal, `10.0.0.${10 + ordinal}`);
        const s = loadSettings(podEnv);
        assert.equal(s.protocol, overlay);
        assert.equal(s.bootstrapMode, 'dns');
        assert.equal(s.bootstrapDnsName, headlessFqdn);
        assert.equal(headlessFqdn, `${API_NAMES.headlessService}.${ns}.svc.cluster.local`);
        assert.equal(fqdn, `dht-node-${ordinal}.dht-headless.${ns}.svc.cluster.local`);
        assert.equal(s.host, `10.0.0.${10 + ordinal}`, 'NODE_HOST is the pod IP');
        assert.equal(s.port, API_NAMES.ports.grpc);
        assert.equal(s.httpPort, API_NAMES.ports.http);
        assert.ok(s.stateFile.startsWith('/data/'), 'STATE_FILE on the volume');
      }
      assert.deepEqual(
        container.env?.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.valueFrom?.resourceFieldRef?.resource ?? e.value]),
        [
          ['NODE_HOST', 'status.podIP'],
          ['HEAP_LIMIT_MIB', 'limits.memory'],
          ['NODE_OPTIONS', '--max-old-space-size=$(HEAP_LIMIT_MIB) --max-semi-space-size=4'],
        ],
      );
    });

    it('probes, shutdown and storage fit the node', () => {
      assert.equal(container.readinessProbe?.httpGet?.path, '/health');
      assert.equal(container.readinessProbe?.httpGet?.port, 'http');
      // The kubelet's gRPC probe has no client certificate: with mutual TLS it would always fail.
      for (const probe of [container.startupProbe, container.livenessProbe]) {
        assert.ok(probe?.httpGet?.port === 'http' && !probe.grpc, 'startup and liveness probes use the HTTP port');
      }
      const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      assert.ok(grace - preStop >= 60, `hand-off needs ≥ 60 s after preStop (grace ${grace}, preStop ${preStop})`);
      const spec = (sts as unknown as { spec: { podManagementPolicy: string; replicas?: number; volumeClaimTemplates: { metadata: { name: string }; spec: { storageClassName: string } }[] } }).spec;
      assert.equal(spec.podManagementPolicy, 'Parallel');
      assert.equal(spec.replicas, undefined, 'the HPA owns the replica count');
      const claim = spec.volumeClaimTemplates.find((v) => container.volumeMounts?.some((m) => m.name === v.metadata.name && env.STATE_FILE!.startsWith(`${m.mountPath}/`)));
      assert.ok(claim, 'STATE_FILE lives on a volumeClaimTemplate');
      assert.equal(claim.spec.storageClassName, find(fileDocs('deploy/eks/storageclass-gp3.yaml'), 'StorageClass', 'gp3').metadata.name);
      const security = container.securityContext;
      assert.equal(security?.readOnlyRootFilesystem, true);
      assert.equal(security?.allowPrivilegeEscalation, false);
      assert.deepEqual(security?.capabilities?.drop, ['ALL']);
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.ok(pod.topologySpreadConstraints?.some((c) => c.topologyKey === 'topology.kubernetes.io/zone'));
    });

    it('mutual TLS is on: TLS_* point into the read-only mount of the Secret with the CA and node certificate', () => {
      const files = tlsFiles(loadSettings(env));
      assert.ok(files.ca && files.cert && files.key, 'all three TLS settings are set');
      const dir = dirname(files.ca);
      assert.deepEqual([files.ca, files.cert, files.key], [`${dir}/ca.crt`, `${dir}/tls.crt`, `${dir}/tls.key`]);
      const mount = container.volumeMounts?.find((m) => m.mountPath === dir);
      assert.ok(mount, `a volume is mounted at ${dir}`);
      assert.equal(mount.readOnly, true);
      const volume = pod.volumes?.find((v) => v.name === mount.name);
      assert.equal(volume?.secret?.secretName, API_NAMES.tlsSecret);
      assert.equal((volume?.secret?.defaultMode ?? 0o644) & 0o007, 0, 'the key is not world-readable');
      assert.ok(!docs.some((d) => d.kind === 'Secret'), 'no key material in the manifests: deploy-eks.sh creates the Secret');
    });

    it('memory, autoscaling and disruption limits agree with the settings', () => {
      const limit = quantity(container.resources?.limits?.memory);
      const request = quantity(container.resources?.requests?.memory);
      const cache = Number(env.CACHE_CAPACITY_MB) * 2 ** 20;
      assert.ok(cache <= limit / 2, 'the cache budget leaves room for the runtime under the memory limit');
      const hpa = find<IHorizontalPodAutoscaler>(OPTIONAL_HPA(), 'HorizontalPodAutoscaler', API_NAMES.statefulSet);
      const memoryTarget = hpa.spec?.metrics?.find((m) => m.resource?.name === 'memory')?.resource?.target.averageUtilization;
      assert.ok(memoryTarget && cache + 128 * 2 ** 20 < (request * memoryTarget) / 100, 'a full cache alone does not trigger scale-up');
      assert.ok(hpa.spec?.metrics?.some((m) => m.resource?.name === 'cpu'));
      const down = hpa.spec?.behavior?.scaleDown;
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      assert.ok(down?.policies?.every((p) => p.type === 'Pods' && p.value === 1 && p.periodSeconds >= grace), 'scale down one pod per hand-off');
      assert.ok((hpa.spec?.minReplicas ?? 1) > Number(env.REPLICATION_FACTOR), 'more nodes than copies');
      const pdb = find<IPodDisruptionBudget>(docs, 'PodDisruptionBudget', API_NAMES.statefulSet);
      assert.ok(Number(pdb.spec?.maxUnavailable) < Number(env.REPLICATION_FACTOR), 'a drain never takes every copy of a key');
    });

    it('the NetworkPolicy keeps gRPC among nodes and egress off the metadata service and private ranges', () => {
      const np = find<INetworkPolicy>(docs, 'NetworkPolicy', API_NAMES.statefulSet);
      assert.deepEqual(np.spec?.policyTypes, ['Ingress', 'Egress']);
      for (const rule of np.spec?.ingress ?? []) {
        if (!rule.ports?.some((p) => p.port === API_NAMES.ports.grpc)) continue;
        assert.ok(rule.from?.length && rule.from.every((f) => f.podSelector && !f.ipBlock && !f.namespaceSelector), 'gRPC only from pods of this namespace');
        assert.ok(rule.from.some((f) => matches(f.podSelector?.matchLabels, podLabels)));
      }
      assert.ok(np.spec?.ingress?.some((r) => !r.from && r.ports?.some((p) => p.port === API_NAMES.ports.http)), '8080 open');
      const peerRules = np.spec?.ingress?.filter((r) => r.ports?.some((p) => p.port === API_NAMES.ports.peer)) ?? [];
      assert.ok(peerRules.length > 0, 'the peer data channel is admitted');
      for (const rule of peerRules) {
        assert.ok(rule.from?.length && rule.from.every((f) => !f.ipBlock && !f.namespaceSelector && matches(f.podSelector?.matchLabels, podLabels)), 'the peer port only from dht-node pods');
      }
      assert.ok(np.spec?.egress?.some((r) => r.ports?.some((p) => p.port === API_NAMES.ports.peer) && r.to?.some((t) => matches(t.podSelector?.matchLabels, podLabels))), 'forwards to peers');
      const egress = np.spec?.egress ?? [];
      assert.ok(egress.some((r) => r.ports?.some((p) => p.port === 53 && p.protocol === 'UDP')), 'DNS');
      assert.ok(egress.some((r) => r.ports?.some((p) => p.port === API_NAMES.ports.grpc) && r.to?.some((t) => matches(t.podSelector?.matchLabels, podLabels))), 'peers');
      const blocked = ['169.254.169.254', '10.0.0.1', '10.100.0.10', '172.16.0.1', '192.168.1.1', '127.0.0.1', '100.64.0.1'];
      for (const rule of egress) {
        for (const peer of rule.to ?? []) {
          if (!peer.ipBlock) continue;
          assert.deepEqual(
            rule.ports?.map((p) => p.port),
            [80, 443],
          );
          for (const ip of blocked) {
            const allowed = contains(peer.ipBlock.cidr, ipOf(ip)) && !(peer.ipBlock.except ?? []).some((e) => contains(e, ipOf(ip)));
            assert.ok(!allowed, `egress reaches ${ip}`);
          }
          assert.ok(contains(peer.ipBlock.cidr, ipOf('93.184.215.14')), 'the internet stays reachable');
        }
      }
    });
  });
}

describe('deploy - cross-references - optional objects and the workload Job', () => {
  const docs = renderOverlay('koorde');
  const podLabels = { app: 'dht-node' };

  it('the ServiceMonitor scrapes /metrics of dht-node through one Service', () => {
    const [sm] = fileDocs('deploy/eks/optional/servicemonitor.yaml') as (K8sDoc & IServiceMonitor)[];
    const services = (docs.filter((d) => d.kind === 'Service') as (K8sDoc & IService)[]).filter((s) => matches(sm!.spec.selector.matchLabels, s.metadata.labels));
    assert.deepEqual(
      services.map((s) => s.metadata.name),
      [API_NAMES.headlessService],
    );
    assert.ok(matches(services[0]!.spec?.selector, podLabels));
    const endpoint = sm!.spec.endpoints?.[0];
    assert.equal(endpoint?.path, '/metrics');
    assert.ok(services[0]!.spec?.ports?.some((p) => p.name === endpoint?.port));
  });

  it('the optional HPA has the original guide limits (5-50 pods, CPU 70 %, memory 80 %), and no overlay scales the StatefulSet itself', () => {
    const hpa = find<IHorizontalPodAutoscaler>(OPTIONAL_HPA(), 'HorizontalPodAutoscaler', API_NAMES.statefulSet);
    assert.equal(hpa.spec?.minReplicas, 5);
    assert.equal(hpa.spec?.maxReplicas, 50);
    const target = (name: string) => hpa.spec?.metrics?.find((m) => m.resource?.name === name)?.resource?.target.averageUtilization;
    assert.deepEqual([target('cpu'), target('memory')], [70, 80]);
    for (const overlay of OVERLAYS) {
      const docs = renderOverlay(overlay);
      assert.equal(docs.filter((d) => d.kind === 'HorizontalPodAutoscaler').length, 0, `${overlay}: the HPA is opt-in`);
      assert.equal((find<{ spec: { replicas?: number } }>(docs, 'StatefulSet', API_NAMES.statefulSet)).spec.replicas, undefined, 're-applying never resets a scale');
    }
  });

  it('the optional internal HTTP Service is an internal load balancer onto the HTTP port', () => {
    const svc = find<IService>(fileDocs('deploy/eks/optional/http-internal-lb.yaml'), 'Service', 'dht-cache-http-internal');
    assert.equal(svc.spec?.type, 'LoadBalancer');
    assert.equal(svc.metadata?.annotations?.['service.beta.kubernetes.io/aws-load-balancer-scheme'], 'internal');
    assert.deepEqual(svc.spec?.selector, { app: 'dht-node' });
    assert.deepEqual(svc.spec?.ports?.map((p) => [p.port, p.targetPort]), [[80, 'http']]);
  });

  it('the optional gRPC Service and ALB Ingress point at dht-node', () => {
    const grpc = find<IService>(fileDocs('deploy/eks/optional/grpc-lb.yaml'), 'Service', API_NAMES.grpcService);
    assert.ok(matches(grpc.spec?.selector, podLabels));
    assert.deepEqual(
      grpc.spec?.ports?.map((p) => [p.port, p.targetPort]),
      [[API_NAMES.ports.grpc, 'grpc']],
    );
    const ingress = fileDocs('deploy/eks/optional/alb-ingress.yaml')[0] as K8sDoc & { spec: { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] } };
    assert.equal(ingress.spec.rules[0]!.http.paths[0]!.backend.service.name, API_NAMES.httpService);
  });

  it('the workload Job targets dht-cache-http and the in-cluster origin', () => {
    const job = fileDocs('deploy/eks/workload-job.yaml')[0] as K8sDoc & IJob;
    const env = Object.fromEntries((job.spec?.template.spec?.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.WORKLOAD_TARGET, `http://${API_NAMES.httpService}`);
    const originUrl = new URL(env.WORKLOAD_URL_TEMPLATE!.replace('{i}', '1'));
    const origin = find<IService>(docs, 'Service', originUrl.hostname);
    assert.equal(origin.spec?.ports?.[0]?.port, Number(originUrl.port));
    const allowlist = podIdentity('koorde', 0, '10.0.0.10').env.CACHE_ORIGIN_ALLOWLIST!.split(',');
    assert.ok(allowlist.includes(originUrl.hostname), 'nodes may fetch from the private origin');
    assert.equal(job.spec?.template.spec?.restartPolicy, 'Never');
  });

  it('the example ResourceQuota holds the HPA maximum plus origin, Job and a debugging pod', () => {
    const quota = find<{ spec: { hard: Record<string, string> } }>(fileDocs('deploy/eks/optional/resource-quota.yaml'), 'ResourceQuota', 'dht-quota');
    const limitRange = find<{ spec: { limits: { defaultRequest: Record<string, string>; default: Record<string, string> }[] } }>(
      fileDocs('deploy/eks/optional/resource-quota.yaml'),
      'LimitRange',
      'dht-defaults',
    );
    const hpa = find<IHorizontalPodAutoscaler>(OPTIONAL_HPA(), 'HorizontalPodAutoscaler', API_NAMES.statefulSet);
    const node = nodeContainer(docs).container.resources!;
    const origin = podTemplates(docs).find((t) => t.owner === 'Deployment/dht-origin')!.containers[0]!.resources!;
    const job = (fileDocs('deploy/eks/workload-job.yaml')[0] as K8sDoc & IJob).spec!.template.spec!.containers[0]!.resources!;
    const debug = { requests: limitRange.spec.limits[0]!.defaultRequest, limits: limitRange.spec.limits[0]!.default };
    const max = hpa.spec!.maxReplicas;
    for (const [key, kind, resource] of [
      ['requests.cpu', 'requests', 'cpu'],
      ['requests.memory', 'requests', 'memory'],
      ['limits.cpu', 'limits', 'cpu'],
      ['limits.memory', 'limits', 'memory'],
    ] as const) {
      const need = max * quantity(node[kind]?.[resource]) + quantity(origin[kind]?.[resource]) + quantity(job[kind]?.[resource]) + quantity(debug[kind][resource]);
      assert.ok(need <= quantity(quota.spec.hard[key]), `${key}: need ${need}, quota ${quota.spec.hard[key]}`);
    }
    assert.ok(max + 3 <= Number(quota.spec.hard.pods));
    assert.ok(max <= Number(quota.spec.hard.persistentvolumeclaims));
  });
});
