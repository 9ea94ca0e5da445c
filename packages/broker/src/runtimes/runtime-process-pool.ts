import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type {
  ConnectRuntimeOptions,
  ExecutionEventListener,
  ExecutionHandle,
  ExecutionSpec,
  SessionExecutor,
} from '@enclave-vm/runtime';
import { computeBackoffDelay } from '@enclave-vm/stream';
import { EnclaveError, type Logger, silentLogger } from '@enclave-vm/types';
import type { RuntimePoolOptions } from '../options/broker-options.js';
import { resolveRuntimeCli } from './resolve-runtime-cli.js';
import { validateRuntimePoolOptions } from './resolve-runtime-mode.js';
import { DEFAULT_RUNTIME_RECONNECT_OPTIONS, RuntimeGroup } from './runtime-group.js';

/** Options of {@link RuntimeProcessPool}: the pool's sizes and scaling rule, and how processes start. */
export interface RuntimeProcessPoolOptions extends RuntimePoolOptions {
  /** Shared secret of the processes (passed in their environment, never on the command line). @default 32 random bytes, hex */
  authToken?: string;
  /** Sandbox worker threads per process (`--pool-size`). @default the process's own default (number of cores) */
  poolSize?: number;
  /** Ms a session waits on tool calls before its process parks it (`--park-after-ms`; `Infinity`: `never`). @default the process's own default (1000) */
  parkAfterMs?: number;
  /** Ms a new process may take to listen and accept the connection before it is killed. @default 15000 */
  startTimeout?: number;
  /** The `enclave-runtime` script to run with `node`. @default dist/cli.js of the installed @enclave-vm/runtime */
  cliPath?: string;
  /** Where the pool reports processes starting, scaling, crashing and their stderr. @default a logger that discards everything */
  logger?: Logger;
  /** Options of each connection to a process (ping interval and timeout, message size). */
  connectOptions?: Omit<ConnectRuntimeOptions, 'url' | 'authToken' | 'logger'>;
}

/** One process of a {@link RuntimeProcessPool}. */
export interface RuntimeProcessStatus {
  /** Operating-system process id. */
  pid: number | undefined;
  /** Where it listens, once it has said so. */
  url: string | undefined;
  /** `starting` until connected, `running`, then `stopping` when scaled down or closed. */
  state: 'starting' | 'running' | 'stopping';
  /** Sessions running on it. */
  activeSessions: number;
  /** Sessions it runs at once (0 until connected). */
  maxSessions: number;
}

interface PoolProcess {
  readonly child: ChildProcess;
  url: string | undefined;
  state: 'starting' | 'running' | 'stopping' | 'exited';
  readonly exited: Promise<void>;
}

/**
 * Preloaded into each process: its stdin is a pipe from the broker, which ends when the broker's
 * process is gone for any reason (even SIGKILL), and the process then stops as on SIGTERM.
 */
const STOP_WITH_PARENT = `data:text/javascript,${encodeURIComponent(
  // Worker threads inherit the preload and have a stdin of their own that ends at once: skip them.
  'import { isMainThread } from "node:worker_threads";' +
    'if (isMainThread) { process.stdin.on("end", () => process.kill(process.pid, "SIGTERM")); process.stdin.resume(); }',
)}`;

/** How long a stopping process may take to end its sessions before it is killed. */
const KILL_AFTER_MS = 3_000;

/**
 * Local runtime worker processes (`node …/enclave-runtime --port 0`) that the broker starts, connects
 * to and scales: a {@link SessionExecutor} over a {@link RuntimeGroup} of them. Every `scaleInterval`
 * ms it compares the average load (active sessions ÷ capacity, over the connected processes) with the
 * thresholds: above `scaleUpThreshold` it starts one more process (up to `maxSize`); below
 * `scaleDownThreshold` it stops one idle process (down to `minSize`). A process that exits on its own
 * is replaced (after a backoff when it keeps failing); its sessions end with `RUNTIME_DISCONNECTED`.
 * `close()` stops them all.
 *
 * @example
 * const pool = new RuntimeProcessPool({ minSize: 1, maxSize: 4, scaleUpThreshold: 0.8, scaleDownThreshold: 0.2, scaleInterval: 5000 });
 * await pool.start();
 */
export class RuntimeProcessPool implements SessionExecutor {
  private readonly settings: RuntimePoolOptions;
  private readonly group: RuntimeGroup;
  private readonly processes = new Set<PoolProcess>();
  private readonly logger: Logger;
  private readonly authToken: string;
  private readonly startTimeout: number;
  private readonly cliPath: string;
  private started = false;
  private scaleTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** Consecutive processes that failed to start or crashed; resets when one connects. */
  private consecutiveFailures = 0;
  private replacementTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RuntimeProcessPoolOptions) {
    this.settings = validateRuntimePoolOptions(options);
    this.logger = options.logger ?? silentLogger;
    if (options.authToken !== undefined && options.authToken.length === 0) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        'authToken must not be empty; leave it out for a random one',
      );
    }
    if (options.poolSize !== undefined && (!Number.isInteger(options.poolSize) || options.poolSize < 1)) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `poolSize must be a positive integer, got ${String(options.poolSize)}`,
      );
    }
    this.startTimeout = options.startTimeout ?? 15_000;
    if (!Number.isInteger(this.startTimeout) || this.startTimeout < 1) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `startTimeout must be a positive integer, got ${String(this.startTimeout)}`,
      );
    }
    this.cliPath = options.cliPath ?? resolveRuntimeCli();
    if (!existsSync(this.cliPath)) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `The enclave-runtime command is missing at ${this.cliPath}; build @enclave-vm/runtime first`,
      );
    }
    this.authToken = options.authToken ?? randomBytes(32).toString('hex');
    this.group = new RuntimeGroup({
      authToken: this.authToken,
      logger: this.logger,
      ...(options.connectOptions === undefined ? {} : { connectOptions: options.connectOptions }),
    });
  }

  /** Sessions running on the pool's processes. */
  get activeSessions(): number {
    return this.group.activeSessions;
  }

  /** Sessions the pool's processes hold parked, from their latest load reports. */
  get parkedSessions(): number {
    return this.group.parkedSessions;
  }

  /** Processes alive (starting, running or stopping). */
  get size(): number {
    return this.countAlive(['starting', 'running', 'stopping']);
  }

  /** Average load of the running processes, 0–1 (see {@link RuntimeGroup.load}). */
  get load(): number {
    return this.group.load;
  }

  /** Every live process. */
  get processList(): RuntimeProcessStatus[] {
    const workers = new Map(this.group.workers.map((worker) => [worker.url, worker]));
    const list: RuntimeProcessStatus[] = [];
    for (const entry of this.processes) {
      if (entry.state === 'exited') continue;
      const worker = entry.url === undefined ? undefined : workers.get(entry.url);
      list.push({
        pid: entry.child.pid,
        url: entry.url,
        state: entry.state,
        activeSessions: worker?.activeSessions ?? 0,
        maxSessions: worker?.maxSessions ?? 0,
      });
    }
    return list;
  }

  /**
   * Starts `minSize` processes and resolves once all are connected, then checks the load every
   * `scaleInterval` ms. Rejects (and stops whatever started) with `RUNTIME_UNAVAILABLE` when a
   * process does not come up within `startTimeout`.
   */
  async start(): Promise<void> {
    if (this.started || this.closing !== undefined) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'This runtime process pool is already started');
    }
    this.started = true;
    await this.group.start();
    try {
      await Promise.all(Array.from({ length: this.settings.minSize }, () => this.startProcess()));
    } catch (error) {
      await this.close();
      throw error;
    }
    this.scaleTimer = setInterval(() => this.scale(), this.settings.scaleInterval);
    this.scaleTimer.unref();
    this.logger.info('Runtime process pool started', { processes: this.size, ...this.settings });
  }

  /** Starts a run on the least-loaded process (see {@link RuntimeGroup.execute}). */
  execute(spec: ExecutionSpec, onEvent: ExecutionEventListener): ExecutionHandle {
    return this.group.execute(spec, onEvent);
  }

  /**
   * Stops scaling, ends running sessions with `SHUTTING_DOWN`, and stops every process (SIGTERM,
   * then SIGKILL after 3 s). Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === undefined) {
      clearInterval(this.scaleTimer);
      clearTimeout(this.replacementTimer);
      this.closing = (async () => {
        await this.group.close();
        await Promise.all([...this.processes].map((entry) => this.stopProcess(entry)));
        this.logger.info('Runtime process pool stopped');
      })();
    }
    return this.closing;
  }

  /** Closes the pool; `await using pool = new RuntimeProcessPool(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** One scaling step; see the class description for the rule. */
  private scale(): void {
    if (this.closing !== undefined || this.countAlive(['starting']) > 0) return;
    const alive = this.countAlive(['starting', 'running']);
    if (alive < this.settings.minSize) {
      this.startInBackground('below minSize');
      return;
    }
    const load = this.group.load;
    if (load > this.settings.scaleUpThreshold && alive < this.settings.maxSize) {
      this.logger.info('Scaling the runtime process pool up', { load, processes: alive + 1 });
      this.startInBackground('load above scaleUpThreshold');
      return;
    }
    if (load < this.settings.scaleDownThreshold && alive > this.settings.minSize) {
      const idle = this.findIdleProcess();
      if (idle === undefined) return;
      this.logger.info('Scaling the runtime process pool down', {
        load,
        processes: alive - 1,
        pid: idle.child.pid,
      });
      void this.stopProcess(idle);
    }
  }

  private findIdleProcess(): PoolProcess | undefined {
    const workers = new Map(this.group.workers.map((worker) => [worker.url, worker]));
    // The newest idle process goes first, so long-lived processes keep their warm sandboxes.
    for (const entry of [...this.processes].reverse()) {
      if (entry.state !== 'running' || entry.url === undefined) continue;
      const worker = workers.get(entry.url);
      if (worker?.connected && worker.activeSessions === 0) return entry;
    }
    return undefined;
  }

  private startInBackground(reason: string): void {
    this.startProcess().catch((error: unknown) => {
      // close() stops a process that was still starting; that is no failure.
      if (this.closing !== undefined) return;
      this.logger.error('A runtime process failed to start', { reason, error: String(error) });
    });
  }

  /** Spawns one process and resolves once the group is connected to it. */
  private startProcess(): Promise<void> {
    const argv = ['--import', STOP_WITH_PARENT, this.cliPath, '--port', '0', '--host', '127.0.0.1'];
    if (this.options.poolSize !== undefined) argv.push('--pool-size', String(this.options.poolSize));
    const { parkAfterMs } = this.options;
    if (parkAfterMs !== undefined) {
      argv.push(
        '--park-after-ms',
        parkAfterMs === Number.POSITIVE_INFINITY ? 'never' : String(Math.round(parkAfterMs)),
      );
    }
    const child = spawn(process.execPath, argv, {
      env: { ...process.env, ENCLAVE_RUNTIME_TOKEN: this.authToken },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const entry: PoolProcess = { child, url: undefined, state: 'starting', exited };
    this.processes.add(entry);

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: EnclaveError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopConnect();
        this.consecutiveFailures += 1;
        void this.stopProcess(entry);
        reject(error);
      };
      const timer = setTimeout(() => {
        fail(
          new EnclaveError(
            'RUNTIME_UNAVAILABLE',
            `The runtime process ${String(child.pid)} did not start within ${this.startTimeout} ms`,
          ),
        );
      }, this.startTimeout);
      const stopConnect = this.group.on('connect', (worker) => {
        if (worker.url !== entry.url || settled) return;
        settled = true;
        clearTimeout(timer);
        stopConnect();
        entry.state = 'running';
        this.consecutiveFailures = 0;
        resolve();
      });
      createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> }).on('line', (line) => {
        const listening = /Listening on (wss?:\/\/\S+)/.exec(line);
        if (listening !== null && entry.url === undefined && entry.state === 'starting') {
          entry.url = listening[1];
          this.logger.debug('Runtime process listening', { pid: child.pid, url: entry.url });
          if (entry.url !== undefined) this.group.addWorker(entry.url);
          return;
        }
        this.logger.debug('Runtime process output', { pid: child.pid, line });
      });
      createInterface({ input: child.stderr as NonNullable<ChildProcess['stderr']> }).on('line', (line) => {
        this.logger.warn('Runtime process output', { pid: child.pid, line });
      });
      // The process is gone: its sessions end with RUNTIME_DISCONNECTED, whether the exit or the
      // closed socket is noticed first.
      const forget = (how: string): void => {
        entry.state = 'exited';
        this.processes.delete(entry);
        if (entry.url === undefined) return;
        void this.group.removeWorker(
          entry.url,
          new EnclaveError('RUNTIME_DISCONNECTED', `The runtime process ${String(child.pid)} ${how}`),
        );
      };
      child.once('error', (error) => {
        // When spawning itself failed, no `exit` follows.
        if (child.pid === undefined) forget('could not be started');
        fail(
          new EnclaveError('RUNTIME_UNAVAILABLE', `Cannot start a runtime process: ${error.message}`, {
            cause: error,
          }),
        );
      });
      child.once('exit', (code, signal) => {
        const wasStopping = entry.state === 'stopping';
        forget(`exited (${signal ?? `code ${String(code)}`})`);
        fail(
          new EnclaveError(
            'RUNTIME_UNAVAILABLE',
            `The runtime process ${String(child.pid)} exited while starting (${signal ?? `code ${String(code)}`})`,
          ),
        );
        if (wasStopping || this.closing !== undefined) return;
        // A process that crashes after it connected counts as a failure too, so a crash loop backs off.
        if (settled) this.consecutiveFailures += 1;
        this.logger.warn('A runtime process exited; replacing it', { pid: child.pid, code, signal });
        this.replaceCrashed();
      });
    });
  }

  private replaceCrashed(): void {
    if (this.closing !== undefined || this.replacementTimer !== undefined) return;
    const delay =
      this.consecutiveFailures === 0
        ? 0
        : computeBackoffDelay(this.consecutiveFailures, DEFAULT_RUNTIME_RECONNECT_OPTIONS);
    this.replacementTimer = setTimeout(() => {
      this.replacementTimer = undefined;
      if (this.closing !== undefined || this.countAlive(['starting', 'running']) >= this.settings.maxSize)
        return;
      this.startProcess().catch((error: unknown) => {
        this.logger.error('Replacing a runtime process failed', { error: String(error) });
        this.replaceCrashed();
      });
    }, delay);
    this.replacementTimer.unref();
  }

  /** Takes the process out of the group at once (no new session), then stops it. */
  private async stopProcess(entry: PoolProcess): Promise<void> {
    if (entry.state === 'exited') return;
    entry.state = 'stopping';
    if (entry.url !== undefined) await this.group.removeWorker(entry.url);
    entry.child.kill('SIGTERM');
    const killTimer = setTimeout(() => entry.child.kill('SIGKILL'), KILL_AFTER_MS);
    await entry.exited;
    clearTimeout(killTimer);
  }

  private countAlive(states: readonly PoolProcess['state'][]): number {
    let count = 0;
    for (const entry of this.processes) if (states.includes(entry.state)) count += 1;
    return count;
  }
}
