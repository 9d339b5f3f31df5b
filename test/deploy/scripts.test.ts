import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { fileDocs, find, OVERLAYS, renderOverlay, REPO_ROOT, API_NAMES } from './manifests.js';
import { nodeContainer, podEnv } from './pod-env.js';

const EKS = 'deploy/eks';
const SCRIPTS = [...readdirSync(join(REPO_ROOT, EKS)).filter((f) => f.endsWith('.sh')).map((f) => `${EKS}/${f}`), 'docker/entrypoint.sh'].sort();
const PROTOCOL_SCRIPTS = [`${EKS}/deploy-eks.sh`, `${EKS}/destroy-eks.sh`];

/**
 * A PATH holding only the few local tools a dry run may use: no kubectl, aws, eksctl, docker or
 * node, so a dry run that needed (or called) one of them fails here.
 */
const bareBin = mkdtempSync(join(tmpdir(), 'koorde-eks-bin-'));
after(() => rmSync(bareBin, { recursive: true, force: true }));
for (const tool of ['bash', 'dirname', 'basename', 'cat']) {
  const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  symlinkSync(found, join(bareBin, tool));
}

function script(path: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(join(bareBin, 'bash'), [path, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { PATH: bareBin, HOME: tmpdir(), IMAGE_TAG: 'test', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, lines: result.stdout.split('\n').filter(Boolean) };
}

const ACCOUNT_IMAGE = '<account-id>.dkr.ecr.us-west-2.amazonaws.com';

describe('deploy - scripts', () => {
  it('shellcheck passes on every script', () => {
    assert.ok(SCRIPTS.length >= 6, SCRIPTS.join(' '));
    const result = spawnSync('shellcheck', ['--external-sources', '--severity=style', ...SCRIPTS], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.ok(!result.error, 'shellcheck is not installed: apt-get install -y shellcheck (.ci/run installs it)');
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  for (const path of PROTOCOL_SCRIPTS) {
    it(`${path} prints its usage and exits non-zero on a bad or missing protocol`, () => {
      for (const args of [['--dry-run', 'kademlia'], ['--dry-run'], ['--dry-run', 'koorde', 'chord'], ['--frobnicate', 'koorde']]) {
        const r = script(path, args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /Usage: deploy\/eks\/\S+ .*koorde\|chord/);
        assert.equal(r.stdout, '', 'nothing is run');
      }
    });
  }

  it('the other scripts reject bad arguments with their usage', () => {
    for (const [path, args] of [
      [`${EKS}/benchmark-eks.sh`, ['--dry-run', '--protocols', 'koorde pastry']],
      [`${EKS}/benchmark-eks.sh`, ['--dry-run', '--requests', 'many']],
      [`${EKS}/build-and-push-ecr.sh`, ['--dry-run', '--tag', 'bad tag']],
    ] as const) {
      const r = script(path, [...args]);
      assert.equal(r.status, 2, `${path} ${args.join(' ')}`);
      assert.match(r.stderr, /Usage:/);
    }
  });

  it('deploy-eks.sh --dry-run koorde prints the kubectl/aws commands, needing neither', () => {
    const r = script(`${EKS}/deploy-eks.sh`, ['--dry-run', 'koorde']);
    assert.equal(r.status, 0, r.stderr);
    const ns = API_NAMES.namespaces.koorde;
    const image = `${ACCOUNT_IMAGE}/koorde-node:test`;
    for (const expected of [
      'aws eks update-kubeconfig --name koorde-cache --region us-west-2',
      'aws sts get-caller-identity --query Account --output text',
      'kubectl apply -f deploy/eks/storageclass-gp3.yaml',
      `kubectl kustomize deploy/eks/overlays/koorde | sed -e 's#image: koorde-node:latest#image: ${image}#' | kubectl apply -f -`,
      `kubectl -n ${ns} get hpa dht-node --ignore-not-found -o name`,
      `kubectl -n ${ns} scale statefulset/dht-node --replicas=10`,
      `kubectl -n ${ns} rollout status statefulset/dht-node --timeout=15m`,
      `kubectl -n ${ns} rollout status deployment/dht-origin --timeout=5m`,
      `kubectl -n ${ns} get service dht-cache-http -o 'jsonpath={.status.loadBalancer.ingress[0].hostname}'`,
    ]) {
      assert.ok(r.lines.includes(expected), `missing: ${expected}\n--- got:\n${r.stdout}`);
    }
    assert.ok(r.lines.includes(`if kubectl get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then kubectl -n ${ns} apply -f deploy/eks/optional/servicemonitor.yaml; else echo 'no Prometheus Operator: ServiceMonitor skipped' >&2; fi`));
    assert.ok(r.lines.every((l) => /^(aws|kubectl|if kubectl|if ! kubectl|deploy\/eks\/tls-certs\.sh) /.test(l)), r.stdout);
    assert.match(r.stderr, /curl -s http:\/\/<lb-hostname>\/health/);
    assert.match(r.stderr, /^==> replicas: 10$/m);
    assert.match(r.stderr, new RegExp(`koorde-client --addr dht-node-0\\.dht-headless\\.${ns}\\.svc\\.cluster\\.local:4000`));
  });

  it('deploy-eks.sh --dry-run shows the TLS Secret (no key material) and where the pods mount it, before the pods start', () => {
    for (const overlay of OVERLAYS) {
      const ns = API_NAMES.namespaces[overlay];
      const r = script(`${EKS}/deploy-eks.sh`, ['--dry-run', overlay], { TLS_DIR: '/secure/tls' });
      assert.equal(r.status, 0, r.stderr);
      const dir = `/secure/tls/${ns}`;
      const make = r.lines.indexOf(`deploy/eks/tls-certs.sh ${dir} ${ns}`);
      const secret = r.lines.findIndex((l) => l.includes(`create secret generic ${API_NAMES.tlsSecret}`));
      const pods = r.lines.findIndex((l) => l.startsWith(`kubectl kustomize deploy/eks/overlays/${overlay}`));
      assert.ok(make >= 0 && make < secret && secret < pods, r.stdout);
      assert.equal(
        r.lines[secret],
        `if ! kubectl -n ${ns} get secret ${API_NAMES.tlsSecret} >/dev/null 2>&1; then kubectl -n ${ns} create secret generic ${API_NAMES.tlsSecret} --from-file=ca.crt=${dir}/ca.crt --from-file=tls.crt=${dir}/tls.crt --from-file=tls.key=${dir}/tls.key; fi`,
      );
      assert.ok(r.lines.indexOf(`kubectl apply -f deploy/eks/overlays/${overlay}/namespace.yaml`) < secret, 'the namespace exists before its Secret');
      assert.ok(!r.lines[secret]!.includes('ca.key'), 'the CA key stays off the cluster');
      assert.doesNotMatch(r.stdout + r.stderr, /BEGIN [A-Z ]*PRIVATE KEY/);
      // The keys the Secret gets are the files the pods' TLS_* settings name, under the mount the script announces.
      const env = podEnv(overlay, 0, '10.0.0.10');
      const mountPath = /mounts dht-tls read-only at (\S+);/.exec(r.stderr)?.[1];
      const { container, pod } = nodeContainer(renderOverlay(overlay));
      const mount = container.volumeMounts?.find((m) => m.mountPath === mountPath);
      assert.equal(pod.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName, API_NAMES.tlsSecret);
      for (const [setting, key] of [['TLS_CA_FILE', 'ca.crt'], ['TLS_CERT_FILE', 'tls.crt'], ['TLS_KEY_FILE', 'tls.key']]) {
        assert.equal(env[setting], `${mountPath}/${key}`);
        assert.match(r.stderr, new RegExp(`${setting}=${mountPath}/${key.replace('.', '\\.')}`));
      }
    }
  });

  it('tls-certs.sh makes a CA and node certificate whose SANs cover the pods, the headless Service and localhost', (t) => {
    if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0) return t.skip('openssl is not installed (.ci/run installs it)');
    const dir = join(mkdtempSync(join(tmpdir(), 'koorde-tls-')), 'koorde-dht');
    const made = spawnSync('bash', [`${EKS}/tls-certs.sh`, dir, 'koorde-dht'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const openssl = (...args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });
    assert.match(openssl('verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'tls.crt'), join(dir, 'client.crt')).stdout, /tls\.crt: OK\n.*client\.crt: OK/);
    const sans = openssl('x509', '-in', join(dir, 'tls.crt'), '-noout', '-ext', 'subjectAltName').stdout;
    for (const name of ['DNS:*.dht-headless.koorde-dht.svc.cluster.local', 'DNS:dht-headless.koorde-dht.svc.cluster.local', 'DNS:dht-headless', 'DNS:localhost', 'IP Address:127.0.0.1']) {
      assert.ok(sans.includes(name), `${name} in ${sans}`);
    }
    const before = openssl('x509', '-in', join(dir, 'ca.crt'), '-noout', '-fingerprint').stdout;
    assert.equal(spawnSync('bash', [`${EKS}/tls-certs.sh`, dir, 'koorde-dht'], { cwd: REPO_ROOT }).status, 0);
    assert.equal(openssl('x509', '-in', join(dir, 'ca.crt'), '-noout', '-fingerprint').stdout, before, 'a second run keeps the CA');
  });

  it('deploy-eks.sh honours REPLICAS and refuses a bad one', () => {
    const r = script(`${EKS}/deploy-eks.sh`, ['--dry-run', 'chord'], { REPLICAS: '20' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.lines.includes(`kubectl -n ${API_NAMES.namespaces.chord} scale statefulset/dht-node --replicas=20`), r.stdout);
    assert.match(r.stderr, /^==> replicas: 20$/m);
    const bad = script(`${EKS}/deploy-eks.sh`, ['--dry-run', 'chord'], { REPLICAS: 'many' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /REPLICAS=many: expected a whole number of nodes/);
    assert.equal(bad.stdout, '');
  });

  it('the image substitution of deploy-eks.sh reaches every container that uses the node image', () => {
    for (const overlay of OVERLAYS) {
      const r = script(`${EKS}/deploy-eks.sh`, ['--dry-run', '--image', 'registry.example/koorde-node:v1', overlay]);
      const sed = /sed -e 's#(.+?)#(.+?)#'/.exec(r.stdout);
      assert.ok(sed, r.stdout);
      const rendered = renderOverlay(overlay).map((d) => stringify(d)).join('---\n');
      const applied = rendered.split(sed[1]!).join(sed[2]!);
      assert.ok(!applied.includes('koorde-node:latest'), 'an image left unsubstituted');
      assert.equal(applied.split('image: registry.example/koorde-node:v1').length - 1, 2, 'StatefulSet and origin');
      assert.ok(!r.lines.some((l) => l.startsWith('aws sts')), 'no account lookup with --image');
    }
  });

  it('benchmark-eks.sh --dry-run prints every run, the result files and the report', () => {
    const r = script(`${EKS}/benchmark-eks.sh`, ['--dry-run', '--replicas', '4 8']);
    assert.equal(r.status, 0, r.stderr);
    const job = find<IJob>(fileDocs(`${EKS}/workload-job.yaml`), 'Job', 'cache-workload');
    const container = job.spec!.template.spec!.containers[0]!.name;
    for (const protocol of OVERLAYS) {
      const ns = API_NAMES.namespaces[protocol];
      for (const n of [4, 8]) {
        const out = `bench/results/eks/${protocol}-n${n}`;
        for (const expected of [
          `kubectl -n ${ns} scale statefulset/dht-node --replicas=${n}`,
          `kubectl -n ${ns} wait --for=condition=Ready pod -l app=dht-node --timeout=15m`,
          `kubectl -n ${ns} delete job cache-workload --ignore-not-found --wait=true`,
          `kubectl -n ${ns} logs job/cache-workload > ${out}.log`,
        ]) {
          assert.ok(r.lines.includes(expected), `missing: ${expected}\n--- got:\n${r.stdout}`);
        }
        assert.ok(r.lines.some((l) => l.startsWith('kubectl set env --local -f deploy/eks/workload-job.yaml') && l.includes(`${container}=${ACCOUNT_IMAGE}/koorde-workload:test`) && l.endsWith(`kubectl -n ${ns} apply -f -`)));
        assert.ok(r.lines.some((l) => l.includes(`"summary.json"`) && l.endsWith(`> ${out}.json`)));
        assert.ok(r.lines.some((l) => l.includes(`"results.csv"`) && l.endsWith(`> ${out}.csv`)));
        const metrics = r.lines.find((l) => l.endsWith(`> ${out}-metrics.json`));
        assert.ok(metrics, `${out}-metrics.json`);
        for (let i = 0; i < n; i++) assert.ok(metrics.includes(`kubectl get --raw /api/v1/namespaces/${ns}/pods/dht-node-${i}:8080/proxy/metrics`));
        assert.ok(!metrics.includes(`dht-node-${n}:`));
      }
      assert.ok(r.lines.includes(`kubectl -n ${ns} get hpa dht-node --ignore-not-found -o name`));
      assert.ok(!r.lines.some((l) => l.includes('patch hpa')), 'no HPA (the default): nothing to pin or restore');
    }
    assert.ok(r.lines.some((l) => l.startsWith('awk ') && l.endsWith('> bench/results/eks/requests.csv')), 'combined CSV');
    assert.equal(r.lines.at(-1), 'node --import tsx bench/report.ts --eks bench/results/eks');
  });

  it('build-and-push-ecr.sh and destroy-eks.sh dry runs touch nothing', () => {
    const build = script(`${EKS}/build-and-push-ecr.sh`, ['--dry-run']);
    assert.equal(build.status, 0, build.stderr);
    assert.ok(build.lines.includes(`docker push '${ACCOUNT_IMAGE}/koorde-node:test'`), build.stdout);
    assert.ok(build.lines.some((l) => l.startsWith('aws ecr get-login-password --region us-west-2 | docker login')));
    const destroy = script(`${EKS}/destroy-eks.sh`, ['--dry-run', 'chord']);
    assert.equal(destroy.status, 0, destroy.stderr);
    assert.ok(destroy.lines.includes('kubectl delete namespace chord-dht --ignore-not-found --wait=true --timeout=15m'));
    assert.ok(!destroy.lines.some((l) => l.startsWith('eksctl')), 'the cluster stays unless --delete-cluster');
  });
});
