import type { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import type { BrokerOptions, RuntimePoolOptions } from '../src/options/broker-options.js';
import { createSessionExecutor } from '../src/runtimes/create-session-executor.js';
import { startRun } from './runtimes-test-helpers.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const pool: RuntimePoolOptions = {
  minSize: 1,
  maxSize: 2,
  scaleUpThreshold: 0.8,
  scaleDownThreshold: 0.2,
  scaleInterval: 1000,
};

async function refusal(options: BrokerOptions): Promise<EnclaveError> {
  const executor = await createSessionExecutor(options, quiet).catch((error: EnclaveError) => error);
  if (!('code' in executor)) {
    await executor.close();
    throw new Error('the options were accepted');
  }
  return executor;
}

describe('choosing the runtime from the broker options', () => {
  it.each([
    [{ mode: 'extracted' }, /needs runtimeUrl .* or runtimePool/],
    [{ mode: 'embedded', runtimeUrl: 'ws://127.0.0.1:3001' }, /runtimeUrl only apply to mode 'extracted'/],
    [{ mode: 'embedded', runtimePool: pool }, /runtimePool only apply to mode 'extracted'/],
    [{ runtimeAuthToken: 'secret' }, /runtimeAuthToken only applies to mode 'extracted'/],
    [{ runtimeUrl: 'ws://127.0.0.1:3001', runtimePool: pool }, /either runtimeUrl .* or runtimePool/],
    [{ mode: 'extracted', runtimeUrl: 'http://127.0.0.1:3001' }, /ws:\/\/ or wss:\/\/ URLs/],
    [{ mode: 'extracted', runtimeUrl: [] }, /non-empty list/],
    [{ runtimeUrl: ['ws://127.0.0.1:1', 'ws://127.0.0.1:1'] }, /twice/],
    [{ mode: 'sideways' }, /mode must be 'embedded' or 'extracted'/],
    [{ poolSize: 0 }, /poolSize must be a positive integer/],
    [{ parkAfterMs: -1 }, /parkAfterMs must be a number of ms ≥ 0/],
    [{ parkAfterMs: Number.NaN }, /parkAfterMs must be a number/],
    [{ runtimeUrl: 'ws://127.0.0.1:3001', poolSize: 2 }, /poolSize cannot apply to workers at runtimeUrl/],
    [
      { runtimeUrl: 'ws://127.0.0.1:3001', parkAfterMs: 10 },
      /parkAfterMs cannot apply to workers at runtimeUrl/,
    ],
    [{ runtimePool: { ...pool, minSize: 3, maxSize: 2 } }, /maxSize must be an integer ≥ minSize \(3\)/],
    [{ runtimePool: { ...pool, minSize: 0 } }, /minSize must be an integer ≥ 1/],
    [{ runtimePool: { ...pool, scaleUpThreshold: 1.5 } }, /scaleUpThreshold must be a load between 0 and 1/],
    [
      { runtimePool: { ...pool, scaleDownThreshold: 0.9 } },
      /scaleDownThreshold \(0.9\) must be below scaleUpThreshold/,
    ],
    [{ runtimePool: { ...pool, scaleInterval: 0 } }, /scaleInterval must be an integer/],
  ] as [BrokerOptions, RegExp][])('%j is a CONFIGURATION_ERROR', async (options, message) => {
    const error = await refusal(options);
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toMatch(message);
  });

  it('runs sessions in-process by default', async () => {
    const executor = await createSessionExecutor({ poolSize: 1 }, quiet);
    try {
      expect(await startRun(executor, 'return 1 + 2').handle.done).toMatchObject({ ok: true, result: 3 });
    } finally {
      await executor.close();
    }
  });
});
