import {
  type ConnectRuntimeOptions,
  connectRuntime,
  type ExecutionEventListener,
  type ExecutionHandle,
  type ExecutionSpec,
  type RuntimeConnection,
  type RuntimeConnectionCloseInfo,
  type SessionExecutor,
} from '@enclave-vm/runtime';
import {
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  RetrySchedule,
  resolveRetryPolicy,
} from '@enclave-vm/stream';
import {
  type Emitter,
  EnclaveError,
  type Logger,
  silentLogger,
  toEnclaveError,
  type Unsubscribe,
} from '@enclave-vm/types';
import { createEndedExecution } from './ended-execution.js';
import { validateRuntimeUrls } from './resolve-runtime-mode.js';

/** How long the group waits between attempts to reach a runtime worker it lost or could not reach. */
export interface RuntimeReconnectOptions {
  /** Delay before the first attempt, in ms. @default 250 */
  initialDelay: number;
  /** Longest delay between attempts, in ms. @default 10000 */
  maxDelay: number;
  /** Factor by which the delay grows per failed attempt. @default 2 */
  backoffMultiplier: number;
  /** Share of each delay that is random (0–1), so brokers that lost the same worker do not retry in step. @default 0.5 */
  jitter: number;
}

/**
 * Reconnection defaults: the wire's retry policy (doubling, half of each delay random), starting
 * sooner (250 ms) and capped lower (10 s) because a broker's runtime workers are close by; the
 * group never gives up on a worker.
 */
export const DEFAULT_RUNTIME_RECONNECT_OPTIONS: Readonly<RuntimeReconnectOptions> = Object.freeze({
  initialDelay: 250,
  maxDelay: 10_000,
  backoffMultiplier: DEFAULT_RETRY_POLICY.backoffMultiplier,
  jitter: DEFAULT_RETRY_POLICY.jitter,
});

/** Options of {@link RuntimeGroup}. */
export interface RuntimeGroupOptions {
  /** URLs of the runtime workers (`ws://host:port`). More can be added with `addWorker`. @default [] */
  urls?: readonly string[];
  /** Shared secret sent to every worker as `Authorization: Bearer <authToken>`. */
  authToken?: string;
  /** Where the group reports workers connecting, lost and reconnecting. @default a logger that discards everything */
  logger?: Logger;
  /**
   * Ms `start()` waits for the first worker. When none is connected by then, `start()` still resolves
   * (sessions end with `RUNTIME_UNAVAILABLE` until one connects) and the group keeps trying. @default 10000
   */
  startupTimeout?: number;
  /** Backoff between reconnection attempts. @default DEFAULT_RUNTIME_RECONNECT_OPTIONS */
  reconnect?: Partial<RuntimeReconnectOptions>;
  /** Options passed to each `connectRuntime` call (timeouts, ping interval, message size). */
  connectOptions?: Omit<ConnectRuntimeOptions, 'url' | 'authToken' | 'logger'>;
}

/** What the group knows about one of its runtime workers. */
export interface RuntimeWorkerStatus {
  /** The worker's URL. */
  url: string;
  /** Whether new sessions can go to it now. */
  connected: boolean;
  /** The id the worker announced in `hello`, once connected. */
  workerId: string | undefined;
  /** Sessions running on it: the larger of its latest load report (over all brokers) and this group's own count. */
  activeSessions: number;
  /** Sessions it runs at once (from `hello` and load reports); 0 while not connected. */
  maxSessions: number;
  /** Failed connection attempts since it was last connected. */
  failedAttempts: number;
  /** Why the last connection attempt failed or the connection was lost. */
  lastError: EnclaveError | undefined;
}

/** Listener signatures of {@link RuntimeGroup.on}. */
export interface RuntimeGroupEventMap {
  /** A worker connected (first time or after a reconnection). */
  connect: (worker: RuntimeWorkerStatus) => void;
  /** A connected worker was lost; its sessions have ended with `RUNTIME_DISCONNECTED`. */
  disconnect: (worker: RuntimeWorkerStatus, info: RuntimeConnectionCloseInfo) => void;
}

interface Member {
  readonly url: string;
  connection: RuntimeConnection | undefined;
  connecting: boolean;
  /** Counts the failed attempts since the worker was last connected and spaces the next ones. */
  readonly retry: RetrySchedule;
  retryTimer: NodeJS.Timeout | undefined;
  lastError: EnclaveError | undefined;
  removed: boolean;
}

type ListenerSets = { [Name in keyof RuntimeGroupEventMap]: Set<RuntimeGroupEventMap[Name]> };

/** Connection refusals that retrying the same URL with the same settings will not fix. */
const CONFIGURATION_FAILURES = new Set(['UNAUTHORIZED', 'PROTOCOL_VERSION_MISMATCH', 'CONFIGURATION_ERROR']);

/**
 * A {@link SessionExecutor} over several standalone runtime workers (extracted mode). Each new
 * session goes to the connected worker with the lowest load (active sessions ÷ capacity, from its
 * load reports and this group's own count). A worker that is lost ends its sessions with `error` +
 * `final` (`RUNTIME_DISCONNECTED`, detected within 2 s), new sessions go to the others, and the group
 * reconnects to it with exponential backoff and jitter. With no worker connected, a session ends at
 * once with `error` + `final` (`RUNTIME_UNAVAILABLE`).
 *
 * @example
 * const group = new RuntimeGroup({ urls: ['ws://10.0.0.5:3001', 'ws://10.0.0.6:3001'], authToken });
 * await group.start();
 * const handle = group.execute({ sessionId: 'ses_1', code: 'return 1 + 2', limits }, console.log);
 */
export class RuntimeGroup implements SessionExecutor, Emitter<RuntimeGroupEventMap> {
  private readonly members = new Map<string, Member>();
  private readonly listeners: ListenerSets = { connect: new Set(), disconnect: new Set() };
  private readonly logger: Logger;
  private readonly reconnect: RetryPolicy;
  private readonly startupTimeout: number;
  private started = false;
  private closing: Promise<void> | undefined;
  private active = 0;
  /** Rotates the starting point of the least-loaded search, so equal loads share sessions in turn. */
  private cursor = 0;
  /** Set while `start()` waits: checks whether every worker refused the configuration. */
  private afterFailedAttempt: (() => void) | undefined;

  constructor(private readonly options: RuntimeGroupOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    // Throws CONFIGURATION_ERROR now rather than at the first reconnection.
    this.reconnect = resolveRetryPolicy(
      { ...options.reconnect, maxAttempts: Number.POSITIVE_INFINITY },
      { ...DEFAULT_RUNTIME_RECONNECT_OPTIONS, maxAttempts: Number.POSITIVE_INFINITY },
    );
    this.startupTimeout = options.startupTimeout ?? 10_000;
    if (!Number.isInteger(this.startupTimeout) || this.startupTimeout < 0) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `startupTimeout must be an integer ≥ 0, got ${String(this.startupTimeout)}`,
      );
    }
    const urls =
      options.urls === undefined || options.urls.length === 0 ? [] : validateRuntimeUrls(options.urls);
    for (const url of urls) this.members.set(url, newMember(url, this.reconnect));
  }

  /** Sessions started through the group and not yet ended. */
  get activeSessions(): number {
    return this.active;
  }

  /**
   * Sessions the connected workers hold parked, from their latest load reports (over all the
   * brokers each serves).
   */
  get parkedSessions(): number {
    let parked = 0;
    for (const member of this.members.values()) {
      if (member.connection?.isOpen === true) parked += member.connection.parkedSessions;
    }
    return parked;
  }

  /** Every worker of the group, connected or not. */
  get workers(): RuntimeWorkerStatus[] {
    return [...this.members.values()].map((member) => this.statusOf(member));
  }

  /** Workers new sessions can go to now. */
  get connectedWorkers(): number {
    let count = 0;
    for (const member of this.members.values()) if (member.connection?.isOpen === true) count += 1;
    return count;
  }

  /**
   * Average load of the connected workers: their active sessions ÷ their capacity, from 0 to 1
   * (above 1 only when brokers overfill them). 0 when none is connected.
   */
  get load(): number {
    let active = 0;
    let capacity = 0;
    for (const member of this.members.values()) {
      const status = this.statusOf(member);
      if (!status.connected) continue;
      active += status.activeSessions;
      capacity += status.maxSessions;
    }
    return capacity === 0 ? 0 : active / capacity;
  }

  /** Registers a listener; returns a function that removes it. */
  on<Name extends keyof RuntimeGroupEventMap>(name: Name, listener: RuntimeGroupEventMap[Name]): Unsubscribe {
    const set = this.listeners[name] as Set<RuntimeGroupEventMap[Name]>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /**
   * Connects to every worker and resolves once one of them is connected, or after `startupTimeout`
   * with none (a warning is logged; the group keeps trying). Rejects with `CONFIGURATION_ERROR`, and
   * closes, when every worker refused the connection (a wrong token: `UNAUTHORIZED`; another major
   * protocol version: `PROTOCOL_VERSION_MISMATCH`; the first refusal is the `cause`).
   */
  async start(): Promise<void> {
    if (this.started) throw new EnclaveError('CONFIGURATION_ERROR', 'This runtime group is already started');
    this.started = true;
    if (this.members.size === 0) return;
    const outcome = new Promise<EnclaveError | undefined>((resolve) => {
      const timer = setTimeout(() => finish(undefined), this.startupTimeout);
      const stopConnect = this.on('connect', () => finish(undefined));
      this.afterFailedAttempt = () => {
        const members = [...this.members.values()];
        if (members.length > 0 && members.every((member) => isConfigurationFailure(member.lastError))) {
          const reasons = members.map((member) => `${member.url}: ${member.lastError?.message ?? ''}`);
          finish(
            new EnclaveError(
              'CONFIGURATION_ERROR',
              `Every runtime worker refused the connection; check runtimeAuthToken and the versions (${reasons.join('; ')})`,
              { cause: members[0]?.lastError },
            ),
          );
        }
      };
      const finish = (error: EnclaveError | undefined): void => {
        clearTimeout(timer);
        stopConnect();
        this.afterFailedAttempt = undefined;
        resolve(error);
      };
    });
    for (const member of this.members.values()) this.connect(member);
    const error = await outcome;
    if (error !== undefined) {
      await this.close();
      throw error;
    }
    if (this.connectedWorkers === 0 && this.closing === undefined) {
      this.logger.warn(
        'No runtime worker connected yet; sessions end with RUNTIME_UNAVAILABLE until one does',
        {
          urls: [...this.members.keys()],
          errors: this.workers.map((worker) => worker.lastError?.message),
        },
      );
    }
  }

  /**
   * Adds a worker; the group connects to it (retrying with backoff) and sends it sessions once
   * connected. Throws `CONFIGURATION_ERROR` for a bad or already present URL or a closed group.
   */
  addWorker(url: string): void {
    if (this.closing !== undefined)
      throw new EnclaveError('CONFIGURATION_ERROR', 'This runtime group is closed');
    const [valid] = validateRuntimeUrls([url]);
    if (valid === undefined || this.members.has(valid)) {
      throw new EnclaveError('CONFIGURATION_ERROR', `The runtime group already has the worker ${url}`);
    }
    const member = newMember(valid, this.reconnect);
    this.members.set(valid, member);
    if (this.started) this.connect(member);
  }

  /**
   * Removes a worker at once (no new session goes to it), then closes its connection; sessions still
   * running on it end with `error` (default `SHUTTING_DOWN`; `RUNTIME_DISCONNECTED` when the worker
   * is known to be gone). Resolves when closed; unknown URLs are ignored.
   */
  async removeWorker(url: string, error?: EnclaveError): Promise<void> {
    const member = this.members.get(url);
    if (member === undefined) return;
    this.members.delete(url);
    member.removed = true;
    clearTimeout(member.retryTimer);
    const connection = member.connection;
    member.connection = undefined;
    if (connection !== undefined) await connection.close(error);
  }

  /**
   * Starts a run on the least-loaded connected worker. With none connected, the run ends at once
   * with `error` + `final` (`RUNTIME_UNAVAILABLE`); after `close()`, with `SHUTTING_DOWN`.
   */
  execute(spec: ExecutionSpec, onEvent: ExecutionEventListener): ExecutionHandle {
    if (this.closing !== undefined) {
      return createEndedExecution(spec.sessionId, onEvent, {
        code: 'SHUTTING_DOWN',
        message: 'The broker is shutting down and no longer starts sessions',
      });
    }
    const connection = this.leastLoaded();
    if (connection === undefined) {
      return createEndedExecution(spec.sessionId, onEvent, {
        code: 'RUNTIME_UNAVAILABLE',
        message: this.unavailableMessage(),
      });
    }
    const handle = connection.execute(spec, onEvent);
    this.active += 1;
    void handle.done.then(() => {
      this.active -= 1;
    });
    return handle;
  }

  /** Closes every connection (running sessions end with `SHUTTING_DOWN`) and stops reconnecting. Idempotent. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      const members = [...this.members.values()];
      this.members.clear();
      this.closing = Promise.all(
        members.map(async (member) => {
          member.removed = true;
          clearTimeout(member.retryTimer);
          const connection = member.connection;
          member.connection = undefined;
          if (connection !== undefined) await connection.close();
        }),
      ).then(() => undefined);
    }
    return this.closing;
  }

  /** Closes the group; `await using group = new RuntimeGroup(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private leastLoaded(): RuntimeConnection | undefined {
    const members = [...this.members.values()];
    let best: RuntimeConnection | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let index = 0; index < members.length; index += 1) {
      const member = members[(this.cursor + index) % members.length];
      const connection = member?.connection;
      if (connection === undefined || !connection.isOpen) continue;
      const load = estimateActive(connection) / Math.max(1, capacityOf(connection));
      if (load < bestLoad) {
        best = connection;
        bestLoad = load;
      }
    }
    this.cursor = members.length === 0 ? 0 : (this.cursor + 1) % members.length;
    return best;
  }

  private connect(member: Member): void {
    if (this.closing !== undefined || member.removed || member.connecting || member.connection !== undefined)
      return;
    member.connecting = true;
    member.retryTimer = undefined;
    connectRuntime({
      ...this.options.connectOptions,
      url: member.url,
      ...(this.options.authToken === undefined ? {} : { authToken: this.options.authToken }),
      logger: this.logger,
    }).then(
      (connection) => {
        member.connecting = false;
        if (this.closing !== undefined || member.removed) {
          void connection.close();
          return;
        }
        member.connection = connection;
        member.retry.reset();
        member.lastError = undefined;
        void connection.closed.then((info) => this.handleClose(member, connection, info));
        const status = this.statusOf(member);
        this.logger.info('Connected to runtime worker', {
          url: member.url,
          workerId: status.workerId,
          maxSessions: status.maxSessions,
          connectedWorkers: this.connectedWorkers,
        });
        this.emit('connect', status);
      },
      (error: unknown) => {
        member.connecting = false;
        member.lastError = toEnclaveError(error);
        if (this.closing !== undefined || member.removed) return;
        this.scheduleReconnect(member);
        this.afterFailedAttempt?.();
      },
    );
  }

  private handleClose(member: Member, connection: RuntimeConnection, info: RuntimeConnectionCloseInfo): void {
    if (member.connection !== connection) return;
    member.connection = undefined;
    if (this.closing !== undefined || member.removed) return;
    member.lastError = info.error;
    this.logger.info('Lost runtime worker; its sessions ended with RUNTIME_DISCONNECTED', {
      url: member.url,
      endedSessions: info.endedSessions,
      closeCode: info.code,
      connectedWorkers: this.connectedWorkers,
    });
    this.emit('disconnect', this.statusOf(member), info);
    this.scheduleReconnect(member);
  }

  private scheduleReconnect(member: Member): void {
    const delay = member.retry.fail(
      member.lastError ??
        new EnclaveError('RUNTIME_UNAVAILABLE', `Runtime worker ${member.url} is unreachable`),
    );
    const attempt = member.retry.failedAttempts;
    const level = attempt === 1 || isConfigurationFailure(member.lastError) ? 'warn' : 'debug';
    this.logger[level]('Runtime worker unreachable; retrying', {
      url: member.url,
      attempt,
      retryInMs: Math.round(delay),
      error: member.lastError?.message,
    });
    member.retryTimer = setTimeout(() => this.connect(member), delay);
    // Reconnecting alone should not keep a process alive that has nothing else to do.
    member.retryTimer.unref();
  }

  private statusOf(member: Member): RuntimeWorkerStatus {
    const connection = member.connection;
    const connected = connection?.isOpen === true;
    return {
      url: member.url,
      connected,
      workerId: connection?.hello.workerId,
      activeSessions: connection === undefined ? 0 : estimateActive(connection),
      maxSessions: connected && connection !== undefined ? capacityOf(connection) : 0,
      failedAttempts: member.retry.failedAttempts,
      lastError: member.lastError,
    };
  }

  private unavailableMessage(): string {
    const members = [...this.members.values()];
    if (members.length === 0) return 'No runtime worker is configured';
    const reasons = members.map((member) => `${member.url}: ${member.lastError?.message ?? 'connecting'}`);
    return `No runtime worker is connected (${reasons.join('; ')})`;
  }

  private emit<Name extends keyof RuntimeGroupEventMap>(
    name: Name,
    ...values: Parameters<RuntimeGroupEventMap[Name]>
  ): void {
    for (const listener of [...this.listeners[name]]) {
      try {
        (listener as (...args: Parameters<RuntimeGroupEventMap[Name]>) => void)(...values);
      } catch (error) {
        this.logger.error(`A runtime group ${name} listener threw`, { error: String(error) });
      }
    }
  }
}

function newMember(url: string, policy: RetryPolicy): Member {
  return {
    url,
    connection: undefined,
    connecting: false,
    retry: new RetrySchedule(policy),
    retryTimer: undefined,
    lastError: undefined,
    removed: false,
  };
}

/** The worker's report covers every broker; this broker's own count is fresher between reports. */
function estimateActive(connection: RuntimeConnection): number {
  return Math.max(connection.load.activeSessions, connection.activeSessions);
}

function capacityOf(connection: RuntimeConnection): number {
  return connection.load.maxSessions;
}

function isConfigurationFailure(error: EnclaveError | undefined): boolean {
  return error !== undefined && CONFIGURATION_FAILURES.has(error.code);
}
