// The test helpers of @enclave-vm/broker, for implementers of a SessionStore (imports vitest).
export type { ContractStoreOptions, SessionStoreContractTarget } from './testing/session-store-contract.js';
export { describeSessionStoreContract } from './testing/session-store-contract.js';
