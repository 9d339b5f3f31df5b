import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { find, OVERLAYS, renderOverlay, REPO_ROOT, API_NAMES } from './manifests.js';

const GUIDE = readFileSync(join(REPO_ROOT, 'deploy/eks/README.md'), 'utf8');

/** Every command line of the guide's ```sh blocks, continuation lines joined, comments dropped. */
function guideCommands(): string[] {
  const blocks = [...GUIDE.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean),
  );
}

// A PATH with only what a dry run may use: a dry run that needed kubectl, aws or eksctl fails here.
const bareBin = mkdtempSync(join(tmpdir(), 'koorde-guide-bin-'));
after(() => rmSync(bareBin, { recursive: true, force: true }));
for (const tool of ['bash', 'dirname', 'basename', 'cat']) {
  symlinkSync(spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bareBin, tool));
}

describe('deploy - the EKS guide', () => {
  it("walks the original guide's steps in its order", () => {
    const headings = [...GUIDE.matchAll(/^## (\d+)\. (.+)$/gm)].map((m) => m[2]!);
    const steps = [/^Create the cluster/, /Load Balancer Controller/, /^Build and push/, /^Deploy both protocols/, /^Scale to 20/, /^Benchmark/, /^Back up/, /^Destroy/];
    const positions = steps.map((step) => headings.findIndex((h) => step.test(h)));
    assert.ok(positions.every((p) => p >= 0), `missing steps: ${steps.filter((_, i) => positions[i]! < 0).join(', ')} in ${headings.join(' | ')}`);
    assert.deepEqual([...positions].sort((a, b) => a - b), positions, 'in the original order');
  });

  it('says the optional HPA and kubectl scale exclude each other, with the seed guide commands', () => {
    const commands = guideCommands();
    for (const ns of Object.values(API_NAMES.namespaces)) assert.ok(commands.includes(`kubectl scale statefulset dht-node --replicas=20 -n ${ns}`));
    assert.match(GUIDE, /It and `kubectl scale` \(or `REPLICAS`\) exclude each other/);
    assert.ok(commands.some((c) => /kubectl -n koorde-dht exec dht-node-\$i -- cat \/data\/state\.json/.test(c)), 'the backup command');
  });

  it('runs every command of the guide that works offline: each --dry-run, each kustomize render', () => {
    const commands = guideCommands();
    const dryRuns = commands.filter((c) => c.includes('--dry-run') && /deploy\/eks\/\S+\.sh/.test(c));
    const renders = commands.filter((c) => c.startsWith('kubectl kustomize '));
    assert.ok(dryRuns.length >= 6, dryRuns.join('\n'));
    assert.equal(renders.length, OVERLAYS.length);
    for (const command of dryRuns) {
      const result = spawnSync(join(bareBin, 'bash'), ['-c', command], { cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: bareBin, HOME: tmpdir(), IMAGE_TAG: 'test' } });
      assert.equal(result.status, 0, `${command}\n${result.stderr}`);
      assert.ok(result.stdout.trim().length > 0, `${command} printed the commands it would run`);
      const replicas = /^REPLICAS=(\d+) /.exec(command)?.[1];
      if (replicas) assert.match(result.stderr, new RegExp(`^==> replicas: ${replicas}$`, 'm'), command);
    }
    for (const command of renders) {
      const overlay = /overlays\/(\w+)$/.exec(command)![1] as (typeof OVERLAYS)[number];
      const docs = renderOverlay(overlay);
      assert.ok(find(docs, 'StatefulSet', API_NAMES.statefulSet), command);
      assert.equal(find<{ data: Record<string, string> }>(docs, 'ConfigMap', API_NAMES.configMap).data.CACHE_DEMO_ORIGIN, 'http://dht-origin:9000', 'the overlay advertises its origin');
    }
  });
});
