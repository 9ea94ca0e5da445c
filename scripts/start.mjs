#!/usr/bin/env node
// `pnpm start` for the foundation milestone: the broker arrives with @enclave-vm/broker. Until then
// this prints what the protocol package offers, so the command does something true.
import { ERROR_CODES, PROTOCOL_VERSION, SECURITY_LEVELS } from '@enclave-vm/types';

console.log(`EnclaveJS protocol ${PROTOCOL_VERSION}`);
console.table(
  Object.fromEntries(
    Object.entries(SECURITY_LEVELS).map(([level, limits]) => [
      level,
      { timeoutMs: limits.timeout, toolCalls: limits.maxToolCalls, memoryMB: limits.memoryLimit / 2 ** 20 },
    ]),
  ),
);
console.log(
  `${Object.keys(ERROR_CODES).length} error codes; the broker (pnpm start) arrives with @enclave-vm/broker.`,
);
