import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import ts from 'typescript';
import { docId, type K8sDoc, patchesOf, renderKustomization } from './kustomize.js';
import { EKS_DIR, fileDocs, manifestFiles, MODELS, OVERLAYS, renderBase, renderOverlay, REPO_ROOT } from './manifests.js';
import { TYPED_MODULE_PATH, typedModuleSource } from './typed-manifests.js';

function schemaErrors(docs: readonly K8sDoc[]): string[] {
  return docs.flatMap((doc) => {
    const entry = MODELS[doc.kind];
    if (!entry) return [`${docId(doc)}: no schema for kind ${doc.kind}`];
    try {
      new entry.model(structuredClone(doc) as never).validate();
      return [];
    } catch (err) {
      return [`${docId(doc)}: ${(err as Error).message}`];
    }
  });
}

const sortById = (docs: K8sDoc[]) => [...docs].sort((a, b) => docId(a).localeCompare(docId(b)));

describe('deploy - manifests', () => {
  it('every object file validates against the Kubernetes schemas', () => {
    const files = manifestFiles();
    assert.ok(files.length >= 15, `expected the base, overlays and optional files, found ${files.join(', ')}`);
    for (const file of files) assert.deepEqual(schemaErrors(fileDocs(file)), [], file);
  });

  it('the base and both rendered overlays validate against the Kubernetes schemas', () => {
    assert.deepEqual(schemaErrors(renderBase()), []);
    for (const overlay of OVERLAYS) assert.deepEqual(schemaErrors(renderOverlay(overlay)), [], overlay);
  });

  it('every overlay patch names an object the base has', () => {
    const base = renderBase();
    for (const overlay of OVERLAYS) {
      const patches = patchesOf(join(EKS_DIR, 'overlays', overlay));
      assert.ok(patches.length > 0);
      for (const p of patches) assert.ok(base.some((d) => d.kind === p.target.kind && d.metadata.name === p.target.name), p.source);
    }
  });

  it('test/deploy/manifests.typed.ts is up to date with the YAML (else: npm run deploy:types)', () => {
    assert.equal(readFileSync(TYPED_MODULE_PATH, 'utf8'), typedModuleSource(), 'run `npm run deploy:types` and commit the result');
  });

  it('satisfies in the typed module turns an unknown field into a compile error', () => {
    // The mechanism manifests.typed.ts relies on, shown on one misspelled field.
    const file = join(REPO_ROOT, 'test', 'deploy', '__unknown-field-probe.ts');
    const source = `import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
      export const s = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' },
        spec: { serviceName: 'x', selector: {}, template: { spec: { containers: [{ name: 'x', imagePullPolicey: 'Always' }] } } } } satisfies IStatefulSet;`;
    const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    host.readFile = (name) => (name === file ? source : readFile(name));
    host.fileExists = ((exists) => (name: string) => name === file || exists(name))(host.fileExists.bind(host));
    const program = ts.createProgram([file], options, host);
    const messages = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.equal(messages.length, 1, messages.join('\n'));
    assert.match(messages[0]!, /'imagePullPolicey' does not exist in type 'IContainer'/);
  });

  it('cluster-config.yaml: the fixed cluster name, IMDSv2 with hop limit 1, enforced NetworkPolicies, EBS volumes', () => {
    const config = parse(readFileSync(join(EKS_DIR, 'cluster-config.yaml'), 'utf8')) as {
      kind: string;
      metadata: { name: string; region: string };
      addons: { name: string; configurationValues?: string }[];
      managedNodeGroups: { disableIMDSv1?: boolean; disablePodIMDS?: boolean }[];
    };
    assert.equal(config.kind, 'ClusterConfig');
    assert.deepEqual(config.metadata.name, 'koorde-cache');
    assert.deepEqual(config.metadata.region, 'us-west-2');
    assert.ok(config.managedNodeGroups.length > 0);
    for (const group of config.managedNodeGroups) {
      assert.equal(group.disableIMDSv1, true, 'IMDSv2 required');
      assert.equal(group.disablePodIMDS, true, 'eksctl sets the hop limit to 1');
    }
    assert.match(config.addons.find((a) => a.name === 'vpc-cni')?.configurationValues ?? '', /enableNetworkPolicy: "true"/);
    assert.ok(config.addons.some((a) => a.name === 'aws-ebs-csi-driver'), 'the gp3 StorageClass needs the EBS CSI driver');
  });

  it('the renderer agrees with kubectl kustomize', (t) => {
    if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0) {
      t.skip('kubectl not installed: the renderer is still checked by the tests above');
      return;
    }
    for (const dir of ['base', ...OVERLAYS.map((o) => `overlays/${o}`)]) {
      const rendered = execFileSync('kubectl', ['kustomize', join(EKS_DIR, dir)], { encoding: 'utf8' });
      const expected = parseAllDocuments(rendered).map((d) => d.toJS() as K8sDoc);
      assert.deepEqual(sortById(renderKustomization(join(EKS_DIR, dir))), sortById(expected), dir);
    }
  });
});
