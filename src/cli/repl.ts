import { createInterface } from 'node:readline';

/** One command of a REPL: `run` gets the words after the command name. */
export interface ReplCommand {
  readonly usage: string;
  readonly help: string;
  /** How many arguments it takes at least; fewer is an "invalid input" error. */
  readonly minArgs: number;
  /** When true, everything after the first argument is one argument (a value with spaces). */
  readonly restIsOne?: boolean;
  /** Other names it answers to (those of the original system's clients). */
  readonly aliases?: readonly string[];
  run(args: string[]): Promise<string>;
}

export interface ReplOptions {
  readonly prompt: string;
  readonly commands: Readonly<Record<string, ReplCommand>>;
  /** Turns a thrown error into the line the user sees. */
  explain(err: unknown): string;
  onExit(): void;
}

/**
 * Reads commands from a terminal (with a prompt) or a pipe (without), one at a time, and
 * prints each result with its latency. `help` and `exit` are built in.
 */
export async function runRepl(options: ReplOptions): Promise<void> {
  const interactive = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive, prompt: options.prompt });
  const byAlias = new Map(Object.values(options.commands).flatMap((c) => (c.aliases ?? []).map((alias) => [alias, c] as const)));
  const also = (aliases: readonly string[] | undefined) => (aliases?.length ? ` (also: ${aliases.join(', ')})` : '');
  const help = () =>
    [
      'commands:',
      ...Object.values(options.commands).map((c) => `  ${c.usage.padEnd(24)} ${c.help}${also(c.aliases)}`),
      `  ${'help'.padEnd(24)} this list (also: ?)`,
      `  ${'exit'.padEnd(24)} leave (also: quit, q)`,
    ].join('\n');
  if (interactive) rl.prompt();
  for await (const line of rl) {
    const words = line.trim().split(/\s+/).filter(Boolean);
    const [name, ...args] = words;
    if (!name) {
      if (interactive) rl.prompt();
      continue;
    }
    if (name === 'exit' || name === 'quit' || name === 'q') break;
    let output: string;
    const command = Object.hasOwn(options.commands, name) ? options.commands[name] : byAlias.get(name);
    if (name === 'help' || name === '?') output = help();
    else if (!command) output = `error: invalid input — unknown command "${name}" (try help)`;
    else if (args.length < command.minArgs) output = `error: invalid input — usage: ${command.usage}`;
    else {
      const started = performance.now();
      const given = command.restIsOne ? firstAndRest(line) : args;
      try {
        output = await command.run(given);
      } catch (err) {
        output = options.explain(err);
      }
      output += `  (${(performance.now() - started).toFixed(1)} ms)`;
    }
    process.stdout.write(output + '\n');
    if (interactive) rl.prompt();
  }
  rl.close();
  options.onExit();
}

/** `cmd first the rest` → [first, "the rest"], keeping the rest's inner spacing. */
function firstAndRest(line: string): string[] {
  const match = /^\s*\S+\s+(\S+)\s+(.*?)\s*$/.exec(line);
  return match ? [match[1]!, match[2]!] : [];
}
