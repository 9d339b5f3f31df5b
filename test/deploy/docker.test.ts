import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { parse } from 'yaml';
import { SETTING_ENV_VARS } from '../../src/config/settings.js';
import { REPO_ROOT } from './manifests.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [keyword, ...rest] = l.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

/** Every rule of dockerfile-utils at error level. */
const STRICT: ValidatorSettings = Object.fromEntries(
  [
    'deprecatedMaintainer',
    'directiveCasing',
    'emptyContinuationLine',
    'instructionCasing',
    'instructionCmdMultiple',
    'instructionEntrypointMultiple',
    'instructionHealthcheckMultiple',
    'instructionJSONInSingleQuotes',
    'instructionWorkdirRelative',
  ].map((k) => [k, ValidationSeverity.ERROR]),
);

/** Our own rules on top of the linter: what a production image of this project must have. */
function ruleProblems(file: string): string[] {
  const all = instructions(read(file));
  const problems: string[] = [];
  const lastFrom = all.map((i) => i.keyword).lastIndexOf('FROM');
  const finalStage = all.slice(lastFrom);
  const user = finalStage.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (!user || !/^[1-9]\d*(:\d+)?$/.test(user)) problems.push(`final stage must end as a numeric non-root USER, found ${user}`);
  if (finalStage.find((i) => i.keyword === 'STOPSIGNAL')?.args !== 'SIGTERM') problems.push('STOPSIGNAL SIGTERM missing');
  if (!finalStage.some((i) => i.keyword === 'ENTRYPOINT' && i.args.startsWith('['))) problems.push('ENTRYPOINT in exec form missing');
  for (const from of all.filter((i) => i.keyword === 'FROM')) {
    const image = from.args.split(/\s+/)[0]!;
    if (/:latest$/.test(image) || (!image.includes(':') && !image.startsWith('$'))) problems.push(`unpinned base image ${image}`);
  }
  return problems;
}

const NODE_DOCKERFILE = 'docker/node.Dockerfile';
const WORKLOAD_DOCKERFILE = 'docker/workload.Dockerfile';

describe('deploy - docker', () => {
  for (const file of [NODE_DOCKERFILE, WORKLOAD_DOCKERFILE]) {
    it(`${file} passes the linter and our image rules`, () => {
      assert.deepEqual(
        validate(read(file), STRICT).map((d) => `${file}:${d.range.start.line + 1}: ${d.message}`),
        [],
      );
      assert.deepEqual(ruleProblems(file), []);
    });
  }

  it('the node image is multi-stage on a pinned Node LTS, the one CI runs', () => {
    const all = instructions(read(NODE_DOCKERFILE));
    const version = /^NODE_VERSION=(\d+)\.(\d+)\.(\d+)$/.exec(all.find((i) => i.keyword === 'ARG')?.args ?? '');
    assert.ok(version, 'ARG NODE_VERSION=<major.minor.patch>');
    assert.equal(Number(version[1]) % 2, 0, 'an LTS (even) major');
    assert.equal(version[1], process.versions.node.split('.')[0], 'the Node major CI runs');
    const engines = /(\d+)\.(\d+)\.(\d+)/.exec(JSON.parse(read('package.json')).engines.node as string)!;
    assert.ok(Number(version[2]) > Number(engines[2]) || (version[2] === engines[2] && Number(version[3]) >= Number(engines[3])), 'satisfies package.json engines');
    const froms = all.filter((i) => i.keyword === 'FROM').map((i) => i.args);
    assert.deepEqual(froms, ['node:${NODE_VERSION}-bookworm-slim AS build', 'node:${NODE_VERSION}-bookworm-slim']);
    const exposed = all.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    assert.deepEqual(exposed.sort(), ['4000', '4001', '8080']);
    assert.match(read('docker/entrypoint.sh'), /exec koorde-node "\$@"/, 'koorde-node is the default command');
  });

  it('builds with the commands CI runs, and the build context holds what the build reads', () => {
    const runs = instructions(read(NODE_DOCKERFILE))
      .filter((i) => i.keyword === 'RUN')
      .flatMap((i) => i.args.split('&&').map((c) => c.trim()));
    assert.ok(runs.includes('npm ci'), 'npm ci');
    assert.ok(runs.includes('npm run build'), 'npm run build');
    assert.ok(runs.includes('npm prune --omit=dev'), 'dev dependencies pruned');
    // The same commands as CI: .ci/run installs with npm ci, and npm test starts with npm run build.
    assert.match(read('.ci/run'), /^npm ci$/m);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.test!, /^npm run build && /);
    const ignored = dockerignore(read('.dockerignore'));
    const buildConfig = JSON.parse(read('tsconfig.build.json')) as { extends: string; include: string[] };
    const inputs = ['package.json', 'package-lock.json', 'tsconfig.build.json', buildConfig.extends.replace(/^\.\//, ''), ...buildConfig.include, 'docker/entrypoint.sh'];
    // Read at run time from the package root: the protos by gRPC, the dashboard by the HTTP API.
    for (const folder of ['proto', 'dashboard']) if (existsSync(join(REPO_ROOT, folder))) inputs.push(folder);
    for (const input of inputs) assert.ok(!ignored(input), `.dockerignore excludes ${input}, which the image build needs`);
    for (const secret of ['node_modules', 'src/x/node_modules', 'dist', '.env', '.env.local', '.git', 'bench/results/x.json']) assert.ok(ignored(secret), `${secret} stays out of the context`);
  });

  it('the workload image extends the node image and runs cache-workload', () => {
    const all = instructions(read(WORKLOAD_DOCKERFILE));
    assert.equal(all.find((i) => i.keyword === 'ARG')?.args, 'NODE_IMAGE=koorde-node:latest');
    assert.equal(all.find((i) => i.keyword === 'FROM')?.args, '${NODE_IMAGE}');
    assert.equal(all.find((i) => i.keyword === 'ENTRYPOINT')?.args, '["cache-workload"]');
  });

  it('docker-compose.yml runs nodes with known settings behind a /health-checked balancer', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string>; command?: string[]; volumes?: string[]; deploy?: { replicas: number } }>;
    };
    const { node, origin, lb } = compose.services;
    assert.ok(node && origin && lb);
    const env = node.environment ?? {};
    assert.deepEqual(
      Object.keys(env).filter((k) => !SETTING_ENV_VARS.includes(k)),
      [],
      'env vars the node does not read',
    );
    assert.equal(env.BOOTSTRAP_MODE, 'dns');
    assert.equal(env.BOOTSTRAP_DNS_NAME, 'node', 'resolves to every replica of the node service');
    assert.ok(env.CACHE_ORIGIN_ALLOWLIST?.split(',').includes('origin'));
    assert.ok((node.deploy?.replicas ?? 1) >= 2);
    assert.equal(origin.command?.[0], 'koorde-origin');
    const haproxy = read('docker/haproxy.cfg');
    assert.match(haproxy, /^\s*server-template \S+ \d+ node:8080$/m);
    assert.match(haproxy, /^\s*option httpchk GET \/health$/m);
    assert.match(haproxy, /^\s*balance roundrobin$/m);
    assert.ok(lb.volumes?.some((v) => v.startsWith('./docker/haproxy.cfg:')));
  });
});

/** A .dockerignore matcher for the patterns we use: paths, `*`, leading `**\/`, no `!`. */
function dockerignore(text: string): (path: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.ok(!patterns.some((p) => p.startsWith('!')), 'negated .dockerignore patterns need a real matcher');
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/^\/+/, '')
      .split(/(\*\*\/|\*)/)
      .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${body}(?:/.*)?$`);
  });
  return (path) => regexes.some((r) => r.test(path));
}
