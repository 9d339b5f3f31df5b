import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoredItem } from '../stored-item.js';

/** What a node keeps across restarts: its ring position and the pairs it held. */
export interface NodeState {
  readonly format: 1;
  /** Hex id, so a pod that comes back with a new IP keeps its place on the ring. */
  readonly id: string;
  readonly addr: string;
  readonly savedAt: string;
  readonly items: readonly StoredItem[];
}

/** The saved state, or undefined if there is none yet (first start). A corrupt file is an error, not a silent reset. */
export async function readState(path: string): Promise<NodeState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as NodeState;
  if (state.format !== 1 || typeof state.id !== 'string' || !Array.isArray(state.items)) {
    throw new Error(`${path} is not a koorde node state file (format 1)`);
  }
  return state;
}

/** Writes atomically: a crash mid-write leaves the previous snapshot intact. */
export async function writeState(path: string, state: NodeState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, JSON.stringify(state));
  await rename(temporary, path);
}
