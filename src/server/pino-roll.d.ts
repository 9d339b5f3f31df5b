// pino-roll ships no types: the part of its API this project calls.
declare module 'pino-roll' {
  import type { Writable } from 'node:stream';
  interface PinoRollOptions {
    file: string;
    size?: string | number;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    symlink?: boolean;
    mkdir?: boolean;
    limit?: { count: number; removeOtherLogFiles?: boolean };
  }
  /** A SonicBoom stream that rolls the file by size and/or frequency. */
  export default function build(options: PinoRollOptions): Promise<Writable & { flushSync(): void }>;
}
