import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type EnclaveError, resolveLimits } from '@enclave-vm/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxPool, type SandboxPool } from '../src/pool/sandbox-pool.js';
import { eventTypes, runCode, runWithBystander, sleep } from './sandbox-harness.js';

// Limits on what crosses the boundary (tool calls, output, sizes), on real worker threads.

let pool: SandboxPool;

beforeAll(async () => {
  pool = createSandboxPool({ size: 2, warmInstances: 2 });
  await pool.ready();
});

afterAll(async () => {
  await pool.close();
});

const echo = { echo: (args: unknown) => args };

describe('tool call count', () => {
  it('rejects the call past maxToolCalls inside the guest with TOOL_CALL_LIMIT_EXCEEDED', async () => {
    const outcome = await runCode(
      pool,
      `const results = [];
       for (let i = 0; i < 4; i++) {
         try { results.push(await tools.echo({ i })) } catch (error) { results.push(error.code) }
       }
       return results;`,
      { tools: echo, limits: { maxToolCalls: 3 } },
    );
    expect(outcome.final.result).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, 'TOOL_CALL_LIMIT_EXCEEDED']);
    expect(outcome.events.filter((event) => event.type === 'tool_call')).toHaveLength(3);
    expect(outcome.final.stats.toolCalls).toBe(3);
  });

  it('ends the run with TOOL_CALL_LIMIT_EXCEEDED when the guest does not catch it', async () => {
    const outcome = await runCode(pool, 'await tools.echo(); await tools.echo(); await tools.echo()', {
      tools: echo,
      limits: { maxToolCalls: 2 },
    });
    expect(outcome.error?.code).toBe('TOOL_CALL_LIMIT_EXCEEDED');
  });

  it('absorbs 100,000 concurrent calls: the calls past the limit reject in the guest, the host stays responsive', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const { bomb, bystander } = await runWithBystander(
      pool,
      'const calls = []; for (let i = 0; i < 100000; i++) calls.push(tools.echo({ i })); await Promise.all(calls);',
      { tools: echo, limits: { maxToolCalls: 100, timeout: 20_000, maxCpuTime: 20_000 } },
    );
    delay.disable();
    expect(bomb.error?.code).toBe('TOOL_CALL_LIMIT_EXCEEDED');
    expect(bomb.events.filter((event) => event.type === 'tool_call')).toHaveLength(100);
    expect(bystander.final).toMatchObject({ ok: true, result: 3 });
    // The caller's event loop was never blocked for long (a generous correctness bound).
    expect(delay.max / 1e6).toBeLessThan(500);
  });
});

describe('tool timeout', () => {
  it('rejects a call that gets no answer within toolTimeout with TOOL_TIMEOUT', async () => {
    const outcome = await runCode(
      pool,
      'try { await tools.slow() } catch (error) { return [error.code, error.message] }',
      { ignoreToolCalls: true, limits: { toolTimeout: 200 } },
    );
    expect(outcome.final.result).toEqual(['TOOL_TIMEOUT', 'Tool "slow" did not answer within 200 ms']);
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(190);
    expect(outcome.elapsedMs).toBeLessThan(1_200);
  });

  it('ends the run with TOOL_TIMEOUT when uncaught, and refuses the late answer', async () => {
    let late: string | undefined;
    const outcome = await runCode(pool, 'await tools.slow()', {
      ignoreToolCalls: true,
      limits: { toolTimeout: 150 },
      onStart: (handle) => {
        setTimeout(() => {
          try {
            handle.submitToolResult('call_1', { ok: true, result: 'late' });
          } catch (error) {
            late = (error as EnclaveError).code;
          }
        }, 600);
      },
    });
    expect(outcome.error?.code).toBe('TOOL_TIMEOUT');
    await sleep(700);
    expect(late).toBe('SESSION_ENDED');
  });

  it('times out only the slow call of several', async () => {
    const outcome = await runCode(
      pool,
      `const [fast, slow] = await Promise.allSettled([tools.fast(), tools.slow()]);
       return [fast.value, slow.reason.code];`,
      {
        tools: {
          fast: () => 'quick',
          slow: () => new Promise((resolve) => setTimeout(() => resolve('late'), 800)),
        },
        limits: { toolTimeout: 200 },
      },
    );
    expect(outcome.final.result).toEqual(['quick', 'TOOL_TIMEOUT']);
  });
});

describe('console output', () => {
  it.each([
    ['console.log', "while (true) console.log('flood flood flood')"],
    ['console.error', "while (true) console.error('flood flood flood')"],
    ['one huge line', "console.log('x'.repeat(5000))"],
    [
      'a flood the guest catches',
      "while (true) { try { console.log('flood flood flood') } catch (error) {} }",
    ],
  ])('stops a flood through %s with STDOUT_LIMIT_EXCEEDED', async (_name, code) => {
    const { bomb, bystander } = await runWithBystander(pool, code, { limits: { maxStdoutBytes: 1000 } });
    expect(bomb.error?.code).toBe('STDOUT_LIMIT_EXCEEDED');
    expect(eventTypes(bomb).slice(-2)).toEqual(['error', 'final']);
    const written = bomb.events.reduce(
      (total, event) =>
        total +
        (event.type === 'stdout'
          ? Buffer.byteLength(event.payload.chunk)
          : event.type === 'log'
            ? Buffer.byteLength(event.payload.message)
            : 0),
      0,
    );
    expect(written).toBeLessThanOrEqual(1000);
    expect(bomb.final.stats.stdoutBytes).toBe(written);
    expect(bomb.elapsedMs).toBeLessThan(5_000);
    expect(bystander.final).toMatchObject({ ok: true, result: 3 });
  });

  it('counts bytes, not characters', async () => {
    const outcome = await runCode(pool, "console.log('é'.repeat(400))", { limits: { maxStdoutBytes: 700 } });
    expect(outcome.error?.code).toBe('STDOUT_LIMIT_EXCEEDED');
  });
});

describe('sizes', () => {
  it('ends a run whose JSON result is too large with RESULT_TOO_LARGE', async () => {
    const outcome = await runCode(pool, "return 'x'.repeat(2000)", { limits: { maxResultBytes: 1000 } });
    expect(outcome.error?.code).toBe('RESULT_TOO_LARGE');
    const multibyte = await runCode(pool, "return 'é'.repeat(600)", { limits: { maxResultBytes: 1000 } });
    expect(multibyte.error?.code).toBe('RESULT_TOO_LARGE');
    const fits = await runCode(pool, "return 'x'.repeat(900)", { limits: { maxResultBytes: 1000 } });
    expect(fits.final.ok).toBe(true);
  });

  it('rejects tool arguments over maxToolArgsBytes with TOOL_ARGS_TOO_LARGE, before any tool_call', async () => {
    const outcome = await runCode(
      pool,
      "try { await tools.echo({ text: 'x'.repeat(2000) }) } catch (error) { return error.code }",
      { tools: echo, limits: { maxToolArgsBytes: 1000 } },
    );
    expect(outcome.final.result).toBe('TOOL_ARGS_TOO_LARGE');
    expect(outcome.events.some((event) => event.type === 'tool_call')).toBe(false);
    const multibyte = await runCode(
      pool,
      "try { await tools.echo({ text: '€'.repeat(400) }) } catch (error) { return error.code }",
      { tools: echo, limits: { maxToolArgsBytes: 1000 } },
    );
    expect(multibyte.final.result).toBe('TOOL_ARGS_TOO_LARGE');
  });

  it('gives the guest TOOL_RESULT_TOO_LARGE for a tool result over maxToolResultBytes', async () => {
    const outcome = await runCode(
      pool,
      "try { await tools.big() } catch (error) { return error.code } return 'no error'",
      { tools: { big: () => 'x'.repeat(5000) }, limits: { maxToolResultBytes: 1000 } },
    );
    expect(outcome.final.result).toBe('TOOL_RESULT_TOO_LARGE');
  });

  it('gives the guest TOOL_ERROR for a tool result JSON cannot represent', async () => {
    const outcome = await runCode(pool, 'try { await tools.big() } catch (error) { return error.code }', {
      tools: { big: () => ({ value: 10n }) },
    });
    expect(outcome.final.result).toBe('TOOL_ERROR');
  });
});

describe('preset limits', () => {
  it.each(['STRICT', 'SECURE', 'STANDARD', 'PERMISSIVE'] as const)(
    'runs under the %s preset',
    async (level) => {
      const limits = resolveLimits(level);
      const handle = pool.execute(
        { sessionId: `preset_${level}`, code: 'return 1 + 2', limits },
        () => undefined,
      );
      expect(await handle.done).toMatchObject({ ok: true, result: 3 });
    },
  );
});
