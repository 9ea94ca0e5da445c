// A real redis-server for a test file (not a test file itself): its own process on a free loopback
// port, persistence off, stopped after the tests. Installed by scripts/install-system-deps.sh; a
// missing one fails the tests loudly rather than skipping them.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '@enclave-vm/test-utils';

/** A running redis-server. */
export interface RedisServer extends AsyncDisposable {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops the server (its data is lost: persistence is off). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** Fails with an actionable message when redis-server is not installed. */
export function assertRedisServerInstalled(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      'redis-server is not installed; the Redis tests need it. Install it with `bash scripts/install-system-deps.sh` (apt-get install redis-server).',
      { cause: error },
    );
  }
}

/** Starts a redis-server on a free port; stop it with `await using` or `stop()`. */
export async function startRedisServer(): Promise<RedisServer> {
  assertRedisServerInstalled();
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    // The shell stops the server when its stdin closes, so that a test process that dies (even by
    // SIGKILL) leaves no redis-server behind.
    child = spawn(
      'sh',
      [
        '-c',
        'redis-server "$@" & server=$!; read _ignored; kill $server 2>/dev/null; wait $server',
        'sh',
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    await waitForPing(port, child);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.stdin?.end();
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start, [Symbol.asyncDispose]: stop };
}

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (await pings(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not answer on port ${port} within ${READY_TIMEOUT_MS} ms`);
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (data) => {
      answer += data.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}
