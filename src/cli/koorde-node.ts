#!/usr/bin/env node
import { whenConnectionHanded } from '../cluster/handed-connections.js';
import { whenParentGone } from '../cluster/parent-pipe.js';
import { ConfigError, loadSettings } from '../config/load.js';
import { SETTINGS, TLS_SETTING_NAMES, tlsFiles } from '../config/settings.js';
import { closeLogFile, openLogFile } from '../server/log-file.js';
import { createLogger } from '../server/logging.js';
import { startNodeProcess, type NodeProcess } from '../server/node-process.js';
import { GrpcCredentials, readTlsMaterial, TlsFilesError } from '../transport/grpc/tls.js';
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
let credentials;
try {
  settings = loadSettings(process.env, config);
  credentials = new GrpcCredentials(readTlsMaterial(tlsFiles(settings), TLS_SETTING_NAMES));
} catch (err) {
  if (!(err instanceof ConfigError || err instanceof TlsFilesError)) throw err;
  process.stderr.write(`${NAME}: ${err instanceof TlsFilesError ? new ConfigError(err.problems).message : err.message}\n`);
  process.exit(2);
}

const logFile = settings.loggerMode === 'file' ? await openLogFile(settings) : undefined;
const logger = createLogger(settings, { service: NAME }, logFile);
if (!credentials.mutualTls) {
  logger.warn(
    { settings: Object.values(TLS_SETTING_NAMES) },
    'gRPC is plaintext: anyone who reaches NODE_PORT can act as a peer or client; set TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE for mutual TLS',
  );
}
let node: NodeProcess;
try {
  node = await startNodeProcess(settings, logger, credentials);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${NAME}: ${err.message}\n`);
  process.exit(2);
}

/** Exits once the log file (LOGGER_MODE=file) holds every line written so far. */
const exit = async (code: number) => {
  if (logFile) await closeLogFile(logFile);
  process.exit(code);
};

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'leaving the ring');
  node.leave().then(
    () => exit(0),
    (err: unknown) => {
      logger.error({ err }, 'graceful leave failed');
      return exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
/**
 * A node that left the ring for good has saved no id. One that moves to rebalance starts over in
 * this process as a new node at a balanced id; one whose id a twin took exits, so that a restart
 * joins as a new node.
 */
const whenDisplaced = (current: NodeProcess, moves: number): void => {
  void current.displaced.then(async (reason) => {
    if (reason === 'twin') {
      logger.fatal('another node joined with this id at the same instant; exiting so that a restart joins as a new node');
      return exit(1);
    }
    await current.release();
    if (stopping) return exit(0);
    node = await startNodeProcess(settings, logger, credentials, { moves: moves + 1 });
    whenDisplaced(node, moves + 1);
    await joined(node);
  }).catch((err: unknown) => {
    logger.fatal({ err }, 'could not start over as a new node');
    return exit(1);
  });
};
whenDisplaced(node, 0);
// Started by koorde-cluster, whose balancer hands client connections to the node of the moment.
whenConnectionHanded((socket) => node.serveConnection(socket));
// Started by koorde-cluster, which died without stopping us: the whole local cluster is going
// away, so there is nobody to hand data to and no one left to read our logs.
whenParentGone(process.env, () => {
  logger.warn('parent process exited; exiting too');
  process.exit(1);
});

async function joined(current: NodeProcess): Promise<void> {
  try {
    await current.ready;
  } catch (err) {
    if (!stopping) {
      logger.fatal({ err }, 'could not join a ring');
      await exit(1);
    }
  }
}
await joined(node);
