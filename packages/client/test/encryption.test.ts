import { seededRandom } from '@enclave-vm/test-utils';
import type { StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import type { FetchFunction } from '../src/index.js';
import { type DropPlan, droppingFetch, startBroker } from './test-broker.js';

interface Exchange {
  url: string;
  method: string;
  requestBody: string;
  responseText: Promise<string>;
}

/** A `fetch` that keeps a copy of every request body and every response body, as they crossed the wire. */
function recordingFetch(exchanges: Exchange[], inner: FetchFunction = fetch): FetchFunction {
  return async (input, init) => {
    const response = await inner(input, init);
    if (response.body === null) return response;
    const [kept, returned] = response.body.tee();
    exchanges.push({
      url: input,
      method: init?.method ?? 'GET',
      requestBody: typeof init?.body === 'string' ? init.body : '',
      responseText: new Response(kept).text(),
    });
    return new Response(returned, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/**
 * A `fetch` that changes one character of the ciphertext of the event with seq `targetSeq` in every
 * event stream, as an attacker on the path would.
 */
function tamperingFetch(targetSeq: number): FetchFunction {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!response.headers.get('content-type')?.includes('application/x-ndjson')) return response;
    const text = await response.text();
    const lines = text.split('\n').map((line) => {
      if (line === '') return line;
      const event = JSON.parse(line) as { seq: number; type: string; payload: { ciphertext: string } };
      if (event.seq !== targetSeq || event.type !== 'encrypted') return line;
      const ciphertext = event.payload.ciphertext;
      event.payload.ciphertext = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1);
      return JSON.stringify(event);
    });
    return new Response(lines.join('\n'), { status: response.status, headers: response.headers });
  };
}

const SECRET_CODE = `
  console.log('the secret is 4242');
  const answer = await tools.vault({ key: 'launch-code' });
  return 'opened ' + answer;
`;

describe('end-to-end encryption', () => {
  it('events travel sealed and arrive opened; tool results leave sealed', async () => {
    await using server = await startBroker();
    const exchanges: Exchange[] = [];
    const client = server.client({
      encryption: true,
      fetch: recordingFetch(exchanges),
      tools: { vault: ({ key }: { key: string }) => `treasure behind ${key}` },
    });
    const session = client.execute(SECRET_CODE);
    const outcome = await session.result;
    expect(outcome).toMatchObject({ ok: true, result: 'opened treasure behind launch-code' });
    expect(session.keyPair?.privateKey.type).toBe('private');
    expect(session.store.getSnapshot().stdout).toBe('the secret is 4242\n');
    expect(session.events.map((event) => event.type)).toEqual([
      'session_init',
      'stdout',
      'tool_call',
      'tool_result_applied',
      'final',
    ]);

    const execute = exchanges.find((exchange) => exchange.url.endsWith('/execute'));
    const wire = (await execute?.responseText) ?? '';
    const lines = wire
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as StreamEvent | { type: 'encrypted'; seq: number });
    expect(lines[0]).toMatchObject({
      type: 'session_init',
      payload: { encryption: { algorithm: 'ECDH-P256+HKDF-SHA256+AES-256-GCM' } },
    });
    expect(lines.slice(1).every((line) => line.type === 'encrypted')).toBe(true);
    expect(lines.length).toBe(session.events.length);
    for (const secret of ['4242', 'launch-code', 'treasure', 'vault']) expect(wire).not.toContain(secret);

    const toolResult = exchanges.find((exchange) => exchange.url.endsWith('/tool-result'));
    expect(JSON.parse(toolResult?.requestBody ?? '{}')).toMatchObject({
      callId: expect.any(String),
      encrypted: { counter: 1, iv: expect.any(String), ciphertext: expect.any(String) },
    });
    expect(toolResult?.requestBody).not.toContain('treasure');
  });

  it('rejects a tampered event with ENCRYPTION_ERROR and never delivers it', async () => {
    await using server = await startBroker();
    const session = server
      .client({ encryption: true, fetch: tamperingFetch(3) })
      .execute(`console.log('one'); console.log('two'); console.log('three'); return 3`);
    const error = await session.result.catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'ENCRYPTION_ERROR' });
    expect(session.events.map((event) => event.seq)).toEqual([1, 2]);
    expect(session.store.getSnapshot()).toMatchObject({ state: 'error', stdout: 'one\n' });
    const iterated: number[] = [];
    await expect(async () => {
      for await (const event of session) iterated.push(event.seq);
    }).rejects.toMatchObject({ code: 'ENCRYPTION_ERROR' });
    expect(iterated).toEqual([1, 2]);
  });

  it('resumes an encrypted session through drops, and after a reload with its key pair', async () => {
    await using server = await startBroker();
    const random = seededRandom(7);
    const plan: DropPlan = {
      remaining: 20,
      dropped: 0,
      cutAfter: () => 1 + Math.floor(random() * 3_000),
      endCleanly: () => random() < 0.5,
    };
    const client = server.client({
      encryption: true,
      fetch: droppingFetch(plan),
      reconnect: { maxAttempts: 30, initialDelay: 1, maxDelay: 5 },
    });
    const session = client.execute(`for (let i = 0; i < 300; i++) console.log('line ' + i); return 'done'`, {
      filter: { types: ['stdout'] },
    });
    expect(await session.result).toMatchObject({ ok: true, result: 'done' });
    expect(plan.dropped).toBeGreaterThan(5);
    const chunks = session.events.flatMap((event) => (event.type === 'stdout' ? [event.payload.chunk] : []));
    expect(chunks).toEqual(Array.from({ length: 300 }, (_, index) => `line ${index}\n`));
    expect(session.events.map((event) => event.type).filter((type) => type !== 'stdout')).toEqual([
      'session_init',
      'final',
    ]);

    const keyPair = session.keyPair;
    const reloaded = server.client();
    const resumed = reloaded.resume(await session.ready, 290, { keyPair });
    await resumed.result;
    expect(resumed.events[0]?.seq).toBe(290);
    expect(resumed.events.at(-1)?.type).toBe('final');
    await expect(reloaded.resume(await session.ready, 1).result).rejects.toMatchObject({
      code: 'ENCRYPTION_ERROR',
    });
  });
});
