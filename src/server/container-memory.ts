import { readFileSync } from 'node:fs';

/** cgroup v1 writes a page-rounded 2^63 − 1 for "no limit"; anything this large is none. */
const V1_UNLIMITED_FROM = 2 ** 60;

/** Share of the container's limit the cache lets resident memory reach when CACHE_MEMORY_LIMIT_MB is `auto`. */
export const AUTO_LIMIT_SHARE = 0.9;

/** `memory.max` of cgroup v2: bytes, or undefined for `max` (no limit) and anything unreadable. */
export function parseCgroupV2Max(text: string): number | undefined {
  const t = text.trim();
  if (t === 'max' || !/^\d+$/.test(t)) return undefined;
  return Number(t);
}

/** `memory.limit_in_bytes` of cgroup v1: bytes, or undefined when unlimited or unreadable. */
export function parseCgroupV1Limit(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const bytes = Number(t);
  return bytes >= V1_UNLIMITED_FROM ? undefined : bytes;
}

/** The v2 cgroup path of this process from /proc/self/cgroup (`0::/path`), if it is on v2. */
export function cgroupV2Path(procSelfCgroup: string): string | undefined {
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3).trim() || undefined;
}

/** The v1 memory-controller cgroup path of this process from /proc/self/cgroup (`4:memory:/path`). */
export function cgroupV1MemoryPath(procSelfCgroup: string): string | undefined {
  for (const line of procSelfCgroup.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (match && match[1]!.split(',').includes('memory')) return match[2]!.trim() || undefined;
  }
  return undefined;
}

/** Reads a file's text, or undefined when it does not exist (no cgroup of that version). */
export type ReadText = (path: string) => string | undefined;

const readIfPresent: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // not mounted here: that cgroup version is not in use
  }
};

/**
 * The memory limit of the container this process runs in, in bytes; undefined when there is
 * none. cgroup v2 first, then v1; in each the process's own group, then the mount's root (the
 * container's group under a private cgroup namespace).
 */
export function containerMemoryLimit(read: ReadText = readIfPresent): number | undefined {
  const groups = read('/proc/self/cgroup') ?? '';
  const below = (root: string, own: string | undefined, file: string) => [...(own && own !== '/' ? [`${root}${own}/${file}`] : []), `${root}/${file}`];
  for (const path of below('/sys/fs/cgroup', cgroupV2Path(groups), 'memory.max')) {
    const text = read(path);
    if (text) return parseCgroupV2Max(text);
  }
  for (const path of below('/sys/fs/cgroup/memory', cgroupV1MemoryPath(groups), 'memory.limit_in_bytes')) {
    const text = read(path);
    if (text) return parseCgroupV1Limit(text);
  }
  return undefined;
}

/**
 * The resident-memory ceiling the cache keeps under: CACHE_MEMORY_LIMIT_MB when set, else
 * AUTO_LIMIT_SHARE of the container's limit; undefined for `none` or `auto` without a limit.
 */
export function memoryCeilingBytes(setting: number | 'auto' | 'none', containerLimitBytes: number | undefined): number | undefined {
  if (setting === 'none') return undefined;
  if (setting === 'auto') return containerLimitBytes === undefined ? undefined : Math.floor(containerLimitBytes * AUTO_LIMIT_SHARE);
  return setting * 1024 * 1024;
}

/**
 * Sizing a pod: resident memory of a node with a full cache ≈ RSS_BASE_MB + RSS_PER_CAPACITY ×
 * CACHE_CAPACITY_MB. From `npm run bench:memory` (docs/benchmarks/memory.md), the node started
 * with a pod's heap flags (nodeHeapOptions): a fresh node is 72–86 MB, 92–164 MB once it has
 * served traffic with nothing stored, and filling it with 1 KiB, 16 KiB or 1 MiB objects gives
 * lines through the 64 MB and 256 MB cells of slope 0.97–1.01, 0.96–1.04 and 0.98–1.02
 * (1.24–1.27 for 16 KiB objects before entries up to 64 KiB were packed into slabs, when this
 * factor was 1.33). The factor adds 1/16 for entry nodes' hot copies to the steepest slope. The
 * 1 KiB and 16 KiB lines meet zero capacity at ~100 MB, which leaves the base ~80 MB for hand-off
 * batches and gRPC buffers; the 1 MiB line at ~170 MB (glibc keeps freed big bodies: README,
 * Memory and sizing). The rule covers every measured cell, most tightly 1 MiB objects at 64 MB
 * (235 MB at peak against 250 MB), and the cache's ceiling at AUTO_LIMIT_SHARE of the limit keeps
 * the rest of the pod's memory free.
 */
export const RSS_PER_CAPACITY = 1.1;
export const RSS_BASE_MB = 180;

/**
 * Largest semi-space of V8's young generation, in MB (Node's default is 16, a 32 MB new space
 * committed for good). Measured on a node filled with 1 KiB objects at 256 MB (docs/benchmarks/memory.md):
 * 4 MB keeps about 60 MB less resident; the cost is more frequent (and each shorter) scavenges.
 */
export const SEMI_SPACE_MB = 4;

/** The pod memory limit, in MiB, that holds a node with a cache of `capacityMb` (deploy/eks/README.md). */
export function podLimitMib(capacityMb: number): number {
  return Math.ceil((RSS_BASE_MB + RSS_PER_CAPACITY * capacityMb) / AUTO_LIMIT_SHARE);
}

/** The heap flags a pod's node runs with (NODE_OPTIONS in the StatefulSet), for a memory limit in MiB. */
export function nodeHeapOptions(limitMib: number): string {
  return `--max-old-space-size=${limitMib} --max-semi-space-size=${SEMI_SPACE_MB}`;
}
