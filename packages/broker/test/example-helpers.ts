import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The broker package's directory. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The repository root. */
export const REPOSITORY_ROOT = join(PACKAGE_ROOT, '..', '..');

/** A script started as a child process, with its output so far. */
export interface RunningScript {
  readonly child: ChildProcess;
  /** Every stdout and stderr line so far. */
  readonly lines: string[];
  /** Resolves with the first line (past or future) matching `pattern`; rejects after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after 10 s. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `node <args>` in `cwd` with `environment` added to this process's environment. */
export function startScript(args: string[], cwd: string, environment: Record<string, string>): RunningScript {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      for (const waiter of [...waiters]) waiter();
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
      for (const waiter of [...waiters]) waiter();
    });
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        for (const line of lines) {
          const match = pattern.exec(line);
          if (match !== null) {
            finish();
            resolve(match);
            return;
          }
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          finish();
          reject(new Error(`The script exited before printing ${pattern}:\n${lines.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`No line matching ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  return { child, lines, waitForLine, exited, stop };
}

/** Starts an example of `examples/<name>` the way its `start` script does (`tsx index.ts`). */
export function startExample(name: string, environment: Record<string, string>): RunningScript {
  return startScript(['--import', 'tsx', 'index.ts'], join(REPOSITORY_ROOT, 'examples', name), environment);
}

/** Matches the `curl … -d '<body>'` line a script prints; groups: URL, body. */
export const CURL_LINE = /curl -N -X POST (\S+) -H 'Content-Type: application\/json' -d '(.+)'$/;

/** One NDJSON event as a client reads it. */
export interface ReceivedEvent {
  seq: number;
  type: string;
  payload: Record<string, unknown>;
}

/** Does what the printed curl line does: POSTs the body and reads the NDJSON stream to its end. */
export async function postExecute(url: string, body: string): Promise<ReceivedEvent[]> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ReceivedEvent);
}

/** The `final` payload of a stream of events. */
export function finalOf(events: ReceivedEvent[]): Record<string, unknown> | undefined {
  return events.find((event) => event.type === 'final')?.payload;
}
