import { EnclaveError } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRuntime } from '../src/index.js';
import { type CliWorker, killCliWorker, runCli, startCliWorker, TEST_LIMITS } from './worker-test-client.js';

// Each test starts a Node process; allow for a busy shared machine.
describe('enclave-runtime CLI', { timeout: 20_000 }, () => {
  let cliWorker: CliWorker | undefined;

  afterEach(async () => {
    await killCliWorker(cliWorker);
    cliWorker = undefined;
  });

  it('listens, runs sessions, and on SIGTERM ends them with SHUTTING_DOWN and exits 0', async () => {
    const started = await startCliWorker(['--max-sessions', '7']);
    cliWorker = started;
    expect(started.output()).toMatch(/enclave-runtime info: Listening on ws:\/\/127\.0\.0\.1:\d+/);

    const runtime = await connectRuntime({ url: started.url });
    expect(runtime.hello).toMatchObject({ maxSessions: 7, poolSize: 1 });
    const quick = runtime.execute(
      { sessionId: 'cli_sum', code: 'return 1 + 2', limits: TEST_LIMITS },
      () => {},
    );
    expect(await quick.done).toMatchObject({ ok: true, result: 3 });

    const toolCalls: string[] = [];
    const waiting = runtime.execute(
      { sessionId: 'cli_wait', code: 'await tools.wait({})', limits: TEST_LIMITS },
      (event) => {
        if (event.type === 'tool_call') toolCalls.push(event.payload.callId);
      },
    );
    while (toolCalls.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));

    started.child.kill('SIGTERM');
    expect(await waiting.done).toMatchObject({ ok: false, error: { code: 'SHUTTING_DOWN' } });
    expect(await started.exited).toEqual({ code: 0, signal: null });
    expect(started.output()).toMatch(/Received SIGTERM, stopping/);
    expect((await runtime.closed).initiatedLocally).toBe(false);
  });

  it('exits 0 on SIGINT too', async () => {
    const started = await startCliWorker();
    cliWorker = started;
    started.child.kill('SIGINT');
    expect(await started.exited).toEqual({ code: 0, signal: null });
  });

  it('requires the token from ENCLAVE_RUNTIME_TOKEN', async () => {
    const started = await startCliWorker([], { ENCLAVE_RUNTIME_TOKEN: 'env-secret' });
    cliWorker = started;
    const refused = await connectRuntime({ url: started.url }).catch((error: unknown) => error);
    expect(EnclaveError.isInstance(refused) && refused.code).toBe('UNAUTHORIZED');
    const runtime = await connectRuntime({ url: started.url, authToken: 'env-secret' });
    const handle = runtime.execute(
      { sessionId: 'cli_auth', code: 'return "in"', limits: TEST_LIMITS },
      () => {},
    );
    expect(await handle.done).toMatchObject({ ok: true, result: 'in' });
    await runtime.close();
  });

  it('prints usage and exits 2 on bad arguments', async () => {
    cliWorker = runCli(['--port', 'eighty']);
    expect(await cliWorker.exited).toEqual({ code: 2, signal: null });
    expect(cliWorker.output()).toContain('--port must be a whole number');
    expect(cliWorker.output()).toContain('Usage: enclave-runtime');

    cliWorker = runCli(['--no-such-flag']);
    expect(await cliWorker.exited).toEqual({ code: 2, signal: null });
  });

  it('prints usage and exits 0 with --help', async () => {
    cliWorker = runCli(['--help']);
    expect(await cliWorker.exited).toEqual({ code: 0, signal: null });
    expect(cliWorker.output()).toContain('--auth-token <token>');
  });
});
