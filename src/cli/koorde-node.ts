#!/usr/bin/env node
import { ConfigError, loadSettings } from '../config/load.js';
import { SETTINGS } from '../config/settings.js';
import { createLogger } from '../node/logging.js';
import { startNodeProcess } from '../node/node-process.js';
import { command } from './options.js';

const NAME = 'koorde-node';
const settingsHelp = Object.values(SETTINGS)
  .map((s) => `  ${s.env.padEnd(24)} ${s.yaml.padEnd(40)} ${s.help} (default ${JSON.stringify(s.defaultValue)})`)
  .join('\n');
const program = command(NAME, 'Runs one DHT web-cache node: gRPC on NODE_PORT, HTTP on CACHE_HTTP_PORT.')
  .option('--config <file>', 'YAML settings file; environment variables override it')
  .addHelpText('after', `\nSettings (env var, YAML key, meaning):\n${settingsHelp}\n`)
  .parse();

const { config } = program.opts<{ config?: string }>();
let settings;
try {
  settings = loadSettings(process.env, config);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${NAME}: ${err.message}\n`);
  process.exit(2);
}

const logger = createLogger(settings, { service: NAME });
let node;
try {
  node = await startNodeProcess(settings, logger);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${NAME}: ${err.message}\n`);
  process.exit(2);
}

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'leaving the ring');
  node.leave().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'graceful leave failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
// It already left the ring; its id (taken by another node) must not be saved, so a restart picks anew.
void node.displaced.then(() => {
  logger.fatal('another node joined with this id at the same instant; exiting so that a restart joins as a new node');
  process.exit(1);
});
process.on('SIGINT', () => stop('SIGINT'));

try {
  await node.ready;
} catch (err) {
  if (!stopping) {
    logger.fatal({ err }, 'could not join a ring');
    process.exit(1);
  }
}
