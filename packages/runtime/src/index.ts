// Public API of @enclave-vm/runtime. Named exports only; each section is owned by one folder.

// --- executor ---
export type {
  ExecutionEventListener,
  ExecutionHandle,
  ExecutionSpec,
  SessionExecutor,
  ToolOutcome,
} from './executor/execution-types.js';

// --- sandbox and pool ---
export type { InThreadExecutorOptions, RunHooks } from './executor/in-thread-executor.js';
export { createInThreadExecutor, InThreadExecutor } from './executor/in-thread-executor.js';
export type { SessionRun, SessionRunOptions } from './executor/session-run.js';
export type { SandboxPoolOptions } from './pool/sandbox-pool.js';
export { createSandboxPool, SandboxPool } from './pool/sandbox-pool.js';
export { MINIMUM_INSTANCE_BYTES } from './sandbox/engine-instance.js';
export type { SandboxProviderOptions } from './sandbox/sandbox-provider.js';

// --- standalone runtime worker ---
export { DEFAULT_MAX_MESSAGE_BYTES } from './worker/channel-message.js';
export type {
  ConnectRuntimeOptions,
  RuntimeConnection,
  RuntimeConnectionCloseInfo,
  RuntimeConnectionEventMap,
} from './worker/runtime-connection.js';
export { connectRuntime } from './worker/runtime-connection.js';
export type { ConsoleLoggerOptions, LogFields, RuntimeLogger } from './worker/runtime-logger.js';
export { createConsoleLogger, silentLogger } from './worker/runtime-logger.js';
export type { RuntimeSocket, RuntimeSocketConstructor, RuntimeSocketEvent } from './worker/runtime-socket.js';
export type { RuntimeWorker, RuntimeWorkerAddress, RuntimeWorkerOptions } from './worker/runtime-worker.js';
export { createRuntimeWorker } from './worker/runtime-worker.js';
