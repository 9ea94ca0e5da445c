import { exportPublicKey, generateKeyPair, readNDJSON } from '@enclave-vm/stream';
import type { StreamEvent, WireEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { clientCipherFor } from './encryption-helpers.js';
import { postJson, startTestBroker } from './http-test-helpers.js';

const ASK_ONCE = `try { return 'got ' + await tools.askUser({ question: 'name?' }); } catch (error) { return error.code + ': ' + error.message; }`;

/** Starts an encrypted session whose code awaits a client tool, and reads until that call arrives. */
async function startWaitingSession(url: string, code: string = ASK_ONCE) {
  const keyPair = await generateKeyPair();
  const response = await postJson(`${url}/execute`, {
    code,
    encryption: { publicKey: await exportPublicKey(keyPair.publicKey) },
  });
  if (response.body === null) throw new Error('no body');
  const sessionId = response.headers.get('x-session-id') ?? '';
  const lines = readNDJSON<WireEvent>(response.body)[Symbol.asyncIterator]();
  const first = await lines.next();
  const cipher = await clientCipherFor(keyPair, first.value as WireEvent);
  const next = async (): Promise<StreamEvent> => {
    const line = await lines.next();
    if (line.done === true) throw new Error('the stream ended');
    const event = line.value;
    return event.type === 'encrypted' ? cipher.openEvent(event) : event;
  };
  const call = await next();
  if (call.type !== 'tool_call') throw new Error(`expected tool_call, got ${call.type}`);
  const postResult = (body: unknown) => postJson(`${url}/sessions/${sessionId}/tool-result`, body);
  /** Reads up to `final`, returning it. */
  const final = async (): Promise<StreamEvent> => {
    for (;;) {
      const event = await next();
      if (event.type === 'final') return event;
    }
  };
  return { sessionId, cipher, callId: call.payload.callId, postResult, final, next };
}

describe('sealed tool results', () => {
  it('opens a sealed result and hands it to the code', async () => {
    await using server = await startTestBroker();
    const session = await startWaitingSession(server.url);
    const sealed = await session.cipher.sealMessage({ callId: session.callId, result: 'Ada' });
    const response = await session.postResult({ callId: session.callId, encrypted: sealed });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true });
    expect(await session.final()).toMatchObject({ payload: { ok: true, result: 'got Ada' } });
  });

  it('refuses a tampered, replayed or misdirected result with 400 ENCRYPTION_ERROR, and the call still waits', async () => {
    await using server = await startTestBroker();
    // The code asks twice, so the session is still running when the first answer is replayed.
    const session = await startWaitingSession(
      server.url,
      `const name = await tools.askUser({ question: 'name?' }); const again = await tools.askUser({ question: 'sure?' }); return 'got ' + name + (again ? '' : '?');`,
    );
    const genuine = await session.cipher.sealMessage({ callId: session.callId, result: 'Ada' });
    const flipped = (genuine.ciphertext[0] === 'A' ? 'B' : 'A') + genuine.ciphertext.slice(1);
    const tampered = await session.postResult({
      callId: session.callId,
      encrypted: { ...genuine, ciphertext: flipped },
    });
    expect(tampered.status).toBe(400);
    expect(await tampered.json()).toMatchObject({ error: { code: 'ENCRYPTION_ERROR' } });

    const plain = await session.postResult({ callId: session.callId, result: 'injected' });
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({ error: { code: 'ENCRYPTION_ERROR' } });

    const misdirected = await session.postResult({
      callId: 'call_other',
      encrypted: await session.cipher.sealMessage({ callId: session.callId, result: 'Ada' }),
    });
    expect(misdirected.status).toBe(400);
    expect(await misdirected.json()).toMatchObject({ error: { code: 'ENCRYPTION_ERROR' } });

    const info = await (await fetch(`${server.url}/sessions/${session.sessionId}`)).json();
    expect(info).toMatchObject({ status: 'running', pendingToolCalls: [session.callId] });

    const accepted = await session.postResult({ callId: session.callId, encrypted: genuine });
    expect(accepted.status).toBe(200);
    let second = await session.next();
    while (second.type !== 'tool_call') second = await session.next();
    const replayed = await session.postResult({ callId: session.callId, encrypted: genuine });
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ error: { code: 'ENCRYPTION_ERROR' } });
    const confirm = await session.cipher.sealMessage({ callId: second.payload.callId, result: true });
    expect((await session.postResult({ callId: second.payload.callId, encrypted: confirm })).status).toBe(
      200,
    );
    expect(await session.final()).toMatchObject({ payload: { ok: true, result: 'got Ada' } });
  });

  it('carries a sealed error to the code, and refuses a sealed result for a plain session', async () => {
    await using server = await startTestBroker();
    const session = await startWaitingSession(server.url);
    const sealed = await session.cipher.sealMessage({
      callId: session.callId,
      error: { message: 'the user left', code: 'USER_GONE' },
    });
    expect((await session.postResult({ callId: session.callId, encrypted: sealed })).status).toBe(200);
    expect(await session.final()).toMatchObject({
      payload: { ok: true, result: 'USER_GONE: the user left' },
    });

    const plainSession = await postJson(`${server.url}/execute`, { code: 'return await tools.askUser({})' });
    const plainId = plainSession.headers.get('x-session-id');
    const reader = readNDJSON<StreamEvent>(plainSession.body as ReadableStream<Uint8Array>)[
      Symbol.asyncIterator
    ]();
    let callId = '';
    while (callId === '') {
      const line = await reader.next();
      if (line.done === true) throw new Error('the stream ended');
      if (line.value.type === 'tool_call') callId = line.value.payload.callId;
    }
    const refused = await postJson(`${server.url}/sessions/${plainId}/tool-result`, {
      callId,
      encrypted: sealed,
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { code: 'ENCRYPTION_ERROR' } });
    await fetch(`${server.url}/sessions/${plainId}`, { method: 'DELETE' });
    await reader.return?.();
  });
});
