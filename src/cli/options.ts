import { Command, InvalidArgumentError } from 'commander';
import { parseDurationMs } from '../config/duration.js';

/**
 * A commander program that, on bad arguments, prints one line naming the problem and exits 2
 * (docs/api.md), instead of commander's default exit code 1.
 */
export function command(name: string, description: string): Command {
  const program = new Command(name).description(description).showHelpAfterError(false);
  program.configureOutput({ outputError: (message, write) => write(`${name}: ${message.replace(/^error: /, '').trim()}\n`) });
  program.exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0);
    process.exit(2);
  });
  return program;
}

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

export function decimal(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

export function duration(value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new InvalidArgumentError(`expected a duration such as 500ms, 2s or 1m, got "${value}"`);
  return ms;
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}"`);
    }
    return value as T;
  };
}

/** Prints a one-line reason and exits 2: the shared end of every command's argument checks. */
export function usageError(name: string, message: string): never {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(2);
}
