import { describe, expect, it } from 'vitest';
import type { ClientToolContext } from '../src/index.js';
import { startBroker } from './test-broker.js';

describe('client-side tools', () => {
  it('runs the client tool and hands its result to the code', async () => {
    await using server = await startBroker();
    const contexts: ClientToolContext[] = [];
    const client = server.client({
      tools: {
        askUser: async ({ question }: { question: string }, context) => {
          contexts.push(context);
          return `answer to ${question}`;
        },
      },
    });
    const session = client.execute(`
      const [first, second] = await Promise.all([
        tools.askUser({ question: 'one' }),
        callTool('askUser', { question: 'two' }),
      ]);
      return first + ' / ' + second;
    `);
    const outcome = await session.result;
    expect(outcome).toMatchObject({ ok: true, result: 'answer to one / answer to two' });
    expect(contexts.map((context) => context.toolName)).toEqual(['askUser', 'askUser']);
    expect(contexts[0]).toMatchObject({ sessionId: session.sessionId, callId: expect.any(String) });
    expect(contexts[0]?.callId).not.toBe(contexts[1]?.callId);
    const calls = session.store.getSnapshot().toolCalls;
    expect(calls).toEqual([
      expect.objectContaining({
        toolName: 'askUser',
        answeredBy: 'client',
        status: 'completed',
        result: 'answer to one',
      }),
      expect.objectContaining({
        toolName: 'askUser',
        answeredBy: 'client',
        status: 'completed',
        result: 'answer to two',
      }),
    ]);
    expect(calls[0]?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('sends a thrown error back with its code, where the code can catch it', async () => {
    await using server = await startBroker();
    const failure = Object.assign(new Error('the user closed the dialog'), { code: 'USER_CANCELLED' });
    const client = server.client({
      tools: {
        askUser: async () => {
          throw failure;
        },
      },
    });
    const session = client.execute(`
      try { await tools.askUser({}); return 'no error'; }
      catch (error) { return error.code + ': ' + error.message; }
    `);
    expect((await session.result).result).toBe('USER_CANCELLED: the user closed the dialog');
    expect(session.store.getSnapshot().toolCalls[0]).toMatchObject({
      status: 'error',
      error: { code: 'USER_CANCELLED', message: 'the user closed the dialog' },
    });
  });

  it('answers TOOL_NOT_FOUND for a tool the client does not have', async () => {
    await using server = await startBroker();
    const session = server.client().execute(`
      try { await tools.nowhere({}); return 'no error'; } catch (error) { return error.code; }
    `);
    expect((await session.result).result).toBe('TOOL_NOT_FOUND');
  });

  it('lets the tools of one execute override the client tools of the same name', async () => {
    await using server = await startBroker();
    const client = server.client({ tools: { greet: () => 'client hello', other: () => 'client other' } });
    const session = client.execute(`return [await tools.greet({}), await tools.other({})].join(', ')`, {
      tools: { greet: () => 'execute hello' },
    });
    expect((await session.result).result).toBe('execute hello, client other');
  });

  it("aborts the handler's signal when the session ends before it answers", async () => {
    await using server = await startBroker();
    let aborted = false;
    let handlerStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      handlerStarted = resolve;
    });
    const session = server.client().execute(`await tools.slow({}); return 'answered'`, {
      tools: {
        slow: (_args: unknown, context) =>
          new Promise((resolve) => {
            context.signal.addEventListener('abort', () => {
              aborted = true;
              resolve('too late');
            });
            handlerStarted();
          }),
      },
    });
    // The session ends while the handler is still running: it is cancelled once the call is out.
    await started;
    await session.cancel();
    const outcome = await session.result;
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.code).toBe('CANCELLED');
    expect(aborted).toBe(true);
  });
});
