import { seededRandom } from '@enclave-vm/test-utils';
import type { StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import type { FetchFunction } from '../src/index.js';
import { type DropPlan, droppingFetch, startBroker, until } from './test-broker.js';

const LINES = 600;
const TICKS = 6;
/** Prints LINES lines, stopping at TICKS client tool calls on the way, so drops hit live and replayed events. */
const CHATTY_CODE = `
  let ticks = 0;
  for (let i = 0; i < ${LINES}; i++) {
    console.log('line ' + i);
    if (i % ${LINES / TICKS} === 0) ticks += await tools.tick({ i });
  }
  return ticks;
`;

function expectContiguous(events: readonly StreamEvent[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events.filter((event) => event.type === 'final')).toHaveLength(1);
  expect(events.at(-1)?.type).toBe('final');
}

describe('resume across dropped connections', () => {
  it('delivers every event exactly once and in order through 200 drops at seeded random points', async () => {
    await using server = await startBroker();
    const random = seededRandom(20_260_101);
    const plan: DropPlan = {
      remaining: 200,
      dropped: 0,
      cutAfter: () => 1 + Math.floor(random() * 6_000),
      endCleanly: () => random() < 0.3,
    };
    const ticked = new Map<string, number>();
    const client = server.client({
      fetch: droppingFetch(plan),
      reconnect: { maxAttempts: 30, initialDelay: 1, maxDelay: 5 },
      tools: {
        tick: (_args: unknown, context) => {
          ticked.set(context.callId, (ticked.get(context.callId) ?? 0) + 1);
          return 1;
        },
      },
    });
    let sessions = 0;
    // Bounded: each session takes many drops; stop once all 200 were made.
    while (plan.dropped < 200 && sessions < 20) {
      sessions++;
      ticked.clear();
      const session = client.execute(CHATTY_CODE);
      const iterated: StreamEvent[] = [];
      for await (const event of session) iterated.push(event);
      const outcome = await session.result;
      expect(outcome).toMatchObject({ ok: true, result: TICKS });
      expectContiguous(iterated);
      expect(session.events).toEqual(iterated);
      const lines = iterated.flatMap((event) => (event.type === 'stdout' ? [event.payload.chunk] : []));
      expect(lines).toEqual(Array.from({ length: LINES }, (_, index) => `line ${index}\n`));
      // Each client tool call ran once, however often its tool_call was replayed.
      expect([...ticked.values()]).toEqual(Array.from({ length: TICKS }, () => 1));
    }
    expect(plan.dropped).toBe(200);
  });

  it('client.resume follows a session after a page reload, without running answered tools again', async () => {
    await using server = await startBroker();
    // The first "page": its fetch dies with the page.
    const page = new AbortController();
    const pageFetch: FetchFunction = (input, init) => {
      if (page.signal.aborted) return Promise.reject(new TypeError('the page is gone'));
      const signals = [page.signal, init?.signal].filter((signal) => signal != null);
      return fetch(input, { ...init, signal: AbortSignal.any(signals) });
    };
    const firstAnswers: string[] = [];
    const firstClient = server.client({
      fetch: pageFetch,
      reconnect: { maxAttempts: 2 },
      tools: {
        step: ({ n }: { n: number }) => {
          firstAnswers.push(`step ${n}`);
          return n * 10;
        },
        confirm: (_args: unknown, context) =>
          new Promise((resolve) => context.signal.addEventListener('abort', () => resolve(false))),
      },
    });
    const first = firstClient.execute(`
      const stepped = await tools.step({ n: 1 });
      console.log('stepped', stepped);
      const confirmed = await tools.confirm({ question: 'go on?' });
      return { stepped, confirmed };
    `);
    await until(() => first.store.getSnapshot().toolCalls.length === 2);
    const sessionId = await first.ready;
    page.abort();
    await expect(first.result).rejects.toMatchObject({ code: 'RECONNECT_FAILED' });
    expect(first.store.getSnapshot().state).toBe('error');

    // The reloaded page knows only the session id.
    const secondAnswers: string[] = [];
    const reloaded = server.client({
      tools: {
        step: ({ n }: { n: number }) => {
          secondAnswers.push(`step ${n}`);
          return -1;
        },
        confirm: () => true,
      },
    });
    const resumed = reloaded.resume(sessionId, 1);
    expect(resumed.sessionId).toBe(sessionId);
    const outcome = await resumed.result;
    expect(outcome).toMatchObject({ ok: true, result: { stepped: 10, confirmed: true } });
    expectContiguous(resumed.events);
    expect(firstAnswers).toEqual(['step 1']);
    expect(secondAnswers).toEqual([]);
    expect(resumed.store.getSnapshot()).toMatchObject({ state: 'completed', stdout: 'stepped 10\n' });

    // Resuming from a later seq delivers from there.
    const tail = reloaded.resume(sessionId, 4);
    await tail.result;
    expect(tail.events[0]?.seq).toBe(4);
    expect(tail.events.at(-1)?.type).toBe('final');
    expect(tail.events.map((event) => event.seq)).toEqual(
      resumed.events.filter((event) => event.seq >= 4).map((event) => event.seq),
    );
  });

  it('gives up with RECONNECT_FAILED when no attempt gets through', async () => {
    await using server = await startBroker();
    const plan: DropPlan = { remaining: 1_000, dropped: 0, cutAfter: () => 10, endCleanly: () => false };
    const session = server
      .client({ fetch: droppingFetch(plan), reconnect: { maxAttempts: 3 } })
      .execute(`console.log('x'); return 1`);
    await expect(session.result).rejects.toMatchObject({ code: 'RECONNECT_FAILED' });
    expect(plan.dropped).toBe(4);
    const snapshot = session.store.getSnapshot();
    expect(snapshot.state).toBe('error');
    expect(snapshot.error?.code).toBe('RECONNECT_FAILED');
  });
});
