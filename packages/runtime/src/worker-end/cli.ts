#!/usr/bin/env node
import { createConsoleLogger } from '../logging/runtime-logger.js';
import { CLI_USAGE, parseCliArguments } from './cli-arguments.js';
import { createRuntimeWorker } from './runtime-worker.js';

/** Exit code for a usage error, as most Unix tools use. */
const USAGE_ERROR = 2;

async function main(): Promise<void> {
  const command = parseCliArguments(process.argv.slice(2), process.env);
  if (command.kind === 'help') {
    process.stdout.write(CLI_USAGE);
    return;
  }
  if (command.kind === 'error') {
    process.stderr.write(`enclave-runtime: ${command.message}\n\n${CLI_USAGE}`);
    process.exitCode = USAGE_ERROR;
    return;
  }
  const logger = createConsoleLogger({ verbose: command.verbose });
  const { host, authToken } = command.options;
  if (authToken === undefined && !isLoopback(host)) {
    logger.warn(`Listening on ${host} without --auth-token: any host that can reach it can run code`);
  }
  const worker = createRuntimeWorker({ ...command.options, logger });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`Received ${signal}, stopping`);
    worker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('Stopping failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await worker.start();
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

main().catch((error: unknown) => {
  process.stderr.write(`enclave-runtime: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
