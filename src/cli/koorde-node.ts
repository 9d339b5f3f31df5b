#!/usr/bin/env node
import { whenParentGone } from '../cluster/parent-pipe.js';
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
const node = await startNodeProcess(settings, logger);

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
process.on('SIGINT', () => stop('SIGINT'));
// Started by koorde-cluster, which died without stopping us: the whole local cluster is going
// away, so there is nobody to hand data to and no one left to read our logs.
whenParentGone(process.env, () => {
  logger.warn('parent process exited; exiting too');
  process.exit(1);
});

try {
  await node.ready;
} catch (err) {
  if (!stopping) {
    logger.fatal({ err }, 'could not join a ring');
    process.exit(1);
  }
}
