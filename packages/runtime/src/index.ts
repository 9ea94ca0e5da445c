// Public API of @enclave-vm/runtime. Named exports only; each section is owned by one folder.

// --- logging ---
export type { Emitter, LogFields, Logger, Unsubscribe } from '@enclave-vm/types';
export { silentLogger } from '@enclave-vm/types';
// --- broker-end: the broker's end of the runtime channel (connectRuntime) ---
export type {
  ConnectRuntimeOptions,
  RuntimeConnection,
  RuntimeConnectionCloseInfo,
  RuntimeConnectionEventMap,
} from './broker-end/runtime-connection.js';
export { connectRuntime } from './broker-end/runtime-connection.js';
export type {
  RuntimeSocket,
  RuntimeSocketConstructor,
  RuntimeSocketEvent,
} from './broker-end/runtime-socket.js';
// --- channel: the runtime channel's messages, shared by both ends ---
export { DEFAULT_MAX_MESSAGE_BYTES } from './channel/channel-message.js';
// --- executor ---
export type {
  ExecutionEventListener,
  ExecutionHandle,
  ExecutionSpec,
  SessionExecutor,
  ToolOutcome,
} from './executor/execution-types.js';
export type { InThreadExecutorOptions, RunHooks } from './executor/in-thread-executor.js';
export { createInThreadExecutor, InThreadExecutor } from './executor/in-thread-executor.js';
export type { SandboxRun, SandboxRunOptions } from './executor/sandbox-run.js';
export type { ConsoleLoggerOptions, RuntimeLogger } from './logging/runtime-logger.js';
export { createConsoleLogger } from './logging/runtime-logger.js';

// --- pool and sandbox ---
export type { SandboxPoolOptions } from './pool/sandbox-pool.js';
export { createSandboxPool, SandboxPool } from './pool/sandbox-pool.js';
export { MINIMUM_INSTANCE_BYTES } from './sandbox/engine-instance.js';
export type { SandboxProviderOptions } from './sandbox/sandbox-provider.js';

// --- worker-end: the runtime worker's end of the runtime channel (createRuntimeWorker, the CLI) ---
export type {
  RuntimeWorker,
  RuntimeWorkerAddress,
  RuntimeWorkerOptions,
} from './worker-end/runtime-worker.js';
export { createRuntimeWorker } from './worker-end/runtime-worker.js';
