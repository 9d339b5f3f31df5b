import { mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allFree, CLUSTER_PORT_OFFSETS } from '../../src/cluster/free-ports.js';

/**
 * Port ranges for the test files that npm test runs side by side: each file's process reserves
 * whole blocks by lock file, so two files never pick overlapping ports, and a port one file's
 * nodes just released is not handed to another file's (which would make "nothing listens there
 * any more" checks and binds race). The blocks keep a cluster's layout (gRPC ports from a base,
 * HTTP 1000 higher, peer 2000 higher) and lie below the kernel's ephemeral ports.
 */
const BLOCK = 50;
const BLOCKS_PER_PLANE = 1000 / BLOCK;
/** A plane spans a base window and its two offset windows: 3000 ports from 10 000 up. */
const PLANES = 6;
const LOCKS = join(tmpdir(), 'koorde-test-ports');

const held: string[] = [];
process.on('exit', () => {
  for (const lock of held) {
    try {
      unlinkSync(lock);
    } catch {
      // already gone
    }
  }
});

/** The block this process hands its next ports out of, and how many of its slots are used. */
let current: { base: number; used: number } | undefined;

/**
 * A base port b reserved for this process until it exits, with b … b+count−1 and the same 1000
 * and 2000 higher free on 127.0.0.1 when its block was reserved. Ports are handed out once:
 * within a process, too, a port that one test's nodes used is not given to the next test.
 */
export async function reservedClusterBase(count: number): Promise<number> {
  if (count > BLOCK) throw new Error(`a test may reserve at most ${BLOCK} consecutive ports, not ${count}`);
  if (!current || current.used + count > BLOCK) current = { base: await reserveBlock(), used: 0 };
  const base = current.base + current.used;
  current.used += count;
  return base;
}

/** A block no other live process holds, all of whose ports are free; a block whose holder has died is taken over. */
async function reserveBlock(): Promise<number> {
  mkdirSync(LOCKS, { recursive: true });
  const blocks = Array.from({ length: PLANES * BLOCKS_PER_PLANE }, (_, i) => 10_000 + Math.floor(i / BLOCKS_PER_PLANE) * 3000 + (i % BLOCKS_PER_PLANE) * BLOCK);
  for (const base of blocks.sort(() => Math.random() - 0.5)) {
    const lock = take(base);
    if (!lock) continue;
    const ports = Array.from({ length: BLOCK }, (_, i) => Object.values(CLUSTER_PORT_OFFSETS).map((offset) => base + offset + i)).flat();
    if (await allFree(ports)) {
      held.push(lock);
      return base;
    }
    unlinkSync(lock); // something outside the tests listens there
  }
  throw new Error(`no free block of ${BLOCK} ports among ${blocks.length}`);
}

/**
 * Claims a block with a file `<base>.<pid>`, then looks for other claims: any by a live process
 * and this claim is withdrawn; those of dead processes are removed. Each claimant writes before it
 * looks, so of two at once the later one sees the earlier (both may back off, never both hold) —
 * a single lock file taken over from a dead holder let two processes that read it at the same
 * moment both take the block. Returns the claim's path, or undefined if a live process (this one
 * included) holds it.
 */
function take(base: number): string | undefined {
  const mine = `${base}.${process.pid}`;
  if (held.includes(join(LOCKS, mine))) return undefined; // this process used it up already
  writeFileSync(join(LOCKS, mine), '');
  for (const claim of readdirSync(LOCKS)) {
    if (!claim.startsWith(`${base}.`) || claim === mine) continue;
    if (alive(Number(claim.slice(claim.indexOf('.') + 1)))) {
      unlinkSync(join(LOCKS, mine));
      return undefined;
    }
    rmSync(join(LOCKS, claim), { force: true }); // left by a process that died
  }
  return join(LOCKS, mine);
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
