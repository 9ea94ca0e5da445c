import { parseArgs } from 'node:util';
import type { RuntimeWorkerOptions } from './runtime-worker.js';

/** Help text of the `enclave-runtime` command. */
export const CLI_USAGE = `Usage: enclave-runtime [options]

Runs an EnclaveJS runtime worker: a WebSocket server that executes sessions for brokers in
extracted mode (createBroker({ mode: 'extracted', runtimeUrl: 'ws://host:port' })).

Options:
  --port <number>          TCP port to listen on, 0 for any free port (default: 3001)
  --host <address>         Interface to listen on (default: 127.0.0.1; 0.0.0.0 for all)
  --max-sessions <number>  Sessions run at once over all brokers (default: 100)
  --pool-size <number>     Sandbox worker threads (default: number of CPUs)
  --park-after-ms <ms>     Park a session that has waited this long on its tool calls: its memory
                           compressed, its engine instance freed until the next result
                           (default: 1000; "never" keeps every waiting session's instance)
  --auth-token <token>     Shared secret brokers must send as "Authorization: Bearer <token>"
                           (default: the ENCLAVE_RUNTIME_TOKEN environment variable; none if unset)
  --verbose                Also log each connection and each rejected message
  -h, --help               Show this help and exit

Stops cleanly (ending running sessions with SHUTTING_DOWN) on SIGTERM or SIGINT.
`;

/** What the command line asks for. */
export type CliCommand =
  | { kind: 'run'; options: RuntimeWorkerOptions & { port: number; host: string }; verbose: boolean }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

/**
 * Reads the arguments of `enclave-runtime` (without `node` and the script path). The token comes
 * from `--auth-token`, or else from `ENCLAVE_RUNTIME_TOKEN` in `environment`.
 */
export function parseCliArguments(argv: readonly string[], environment: NodeJS.ProcessEnv = {}): CliCommand {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  if (values.help === true) return { kind: 'help' };

  const port = integerOption('--port', values.port, 0, 65_535, 3001);
  const maxSessions = integerOption('--max-sessions', values['max-sessions'], 1, 1_000_000, undefined);
  const poolSize = integerOption('--pool-size', values['pool-size'], 1, 1_024, undefined);
  const parkAfterMs =
    values['park-after-ms']?.trim() === 'never'
      ? Number.POSITIVE_INFINITY
      : integerOption('--park-after-ms', values['park-after-ms'], 0, 2_147_483_647, undefined);
  for (const parsed of [port, maxSessions, poolSize, parkAfterMs]) {
    if (typeof parsed === 'string') return { kind: 'error', message: parsed };
  }
  const host = values.host ?? '127.0.0.1';
  if (host.length === 0) return { kind: 'error', message: '--host must not be empty' };
  const authToken = values['auth-token'] ?? nonEmpty(environment.ENCLAVE_RUNTIME_TOKEN);
  if (authToken !== undefined && authToken.length === 0) {
    return { kind: 'error', message: '--auth-token must not be empty' };
  }
  const options: RuntimeWorkerOptions & { port: number; host: string } = { port: port as number, host };
  if (typeof maxSessions === 'number') options.maxSessions = maxSessions;
  if (typeof poolSize === 'number') options.poolSize = poolSize;
  if (typeof parkAfterMs === 'number') options.parkAfterMs = parkAfterMs;
  if (authToken !== undefined) options.authToken = authToken;
  return { kind: 'run', options, verbose: values.verbose === true };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'max-sessions': { type: 'string' },
      'pool-size': { type: 'string' },
      'park-after-ms': { type: 'string' },
      'auth-token': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** The option's integer, `fallback` when absent, or an error message. */
function integerOption(
  name: string,
  raw: string | undefined,
  minimum: number,
  maximum: number,
  fallback: number | undefined,
): number | string | undefined {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) return `${name} must be a whole number, got "${raw}"`;
  const value = Number(raw);
  if (value < minimum || value > maximum)
    return `${name} must be from ${minimum} to ${maximum}, got ${value}`;
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value;
}
