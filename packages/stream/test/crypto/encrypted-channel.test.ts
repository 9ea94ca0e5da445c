import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/crypto/base64.js';
import {
  createEncryptedChannel,
  type EncryptedChannel,
  type EncryptedFrame,
} from '../../src/crypto/encrypted-channel.js';
import { generateKeyPair } from '../../src/crypto/key-pair.js';
import { createInMemoryTransportPair } from '../../src/transport/in-memory-transport.js';

async function rejectionOf(promise: Promise<unknown>): Promise<EnclaveError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(EnclaveError.isInstance(error), `expected an EnclaveError, got ${String(error)}`).toBe(true);
  return error as EnclaveError;
}

function flipByte(base64: string, index: number): string {
  const bytes = decodeBase64(base64);
  bytes[index] = bytes[index]! ^ 1;
  return encodeBase64(bytes);
}

/** A client and a server channel without transport, recording what each decrypts. */
async function channels(options: { sessionId?: string } = {}) {
  const received = { client: [] as unknown[], server: [] as unknown[] };
  const server = await createEncryptedChannel({
    role: 'server',
    sessionId: options.sessionId,
    onMessage: (message) => received.server.push(message),
  });
  const client = await createEncryptedChannel({
    role: 'client',
    sessionId: options.sessionId,
    remotePublicKey: server.getPublicKey(),
    onMessage: (message) => received.client.push(message),
  });
  return { server, client, received };
}

/** Resolves once `condition` holds, checking after each turn of the event loop (bounded). */
async function eventually(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !condition(); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  expect(condition()).toBe(true);
}

describe('createEncryptedChannel', () => {
  it('runs the documented example: the server learns the client key from its first frame', async () => {
    const logged: unknown[] = [];
    // Server side
    const serverChannel = await createEncryptedChannel({
      role: 'server',
      onMessage: (message) => {
        logged.push(message);
      },
    });
    // Get server's public key to send to client
    const serverPublicKey = serverChannel.getPublicKey();
    // Client side
    const clientChannel = await createEncryptedChannel({
      role: 'client',
      remotePublicKey: serverPublicKey,
      onMessage: (message) => {
        logged.push(message);
      },
    });
    // Send encrypted messages
    const frame = await clientChannel.send({ type: 'tool_call', name: 'secretOp', args: {} });

    expect(JSON.stringify(frame)).not.toContain('secretOp');
    expect(frame.publicKey).toBe(clientChannel.getPublicKey());
    expect(serverChannel.getRemotePublicKey()).toBeUndefined();
    expect(await serverChannel.receive(frame)).toEqual({ type: 'tool_call', name: 'secretOp', args: {} });
    expect(logged).toEqual([{ type: 'tool_call', name: 'secretOp', args: {} }]);
    expect(serverChannel.getRemotePublicKey()).toBe(clientChannel.getPublicKey());
    expect(serverChannel.handshakeComplete).toBe(true);
    expect(clientChannel.handshakeComplete).toBe(false);

    // The server answers without its key (the client has it); the client's next frames drop theirs.
    const reply = await serverChannel.send({ ok: true });
    expect(reply.publicKey).toBeUndefined();
    await clientChannel.receive(reply);
    expect(clientChannel.handshakeComplete).toBe(true);
    expect((await clientChannel.send('after handshake')).publicKey).toBeUndefined();
    expect(logged).toEqual([{ type: 'tool_call', name: 'secretOp', args: {} }, { ok: true }]);
  });

  it('numbers frames from 1 per direction and carries any JSON value', async () => {
    const { client, server, received } = await channels({ sessionId: 'ses_1' });
    const values = [1, 'two', null, [3], { four: { nested: true } }, 'ünïcødé ✓'];
    for (const [index, value] of values.entries()) {
      const frame = await client.send(value);
      expect(frame).toMatchObject({
        type: 'encrypted_frame',
        sender: 'client',
        sessionId: 'ses_1',
        seq: index + 1,
      });
      await server.receive(frame);
    }
    expect(received.server).toEqual(values);
    expect((await server.send('back')).seq).toBe(1);
  });

  it('refuses a frame whose ciphertext, IV, seq, session id or sender was changed, and accepts the genuine one after', async () => {
    const { client, server, received } = await channels({ sessionId: 'ses_1' });
    await server.receive(await client.send('first'));
    const frame = await client.send('second');
    const tampered: [EncryptedFrame, RegExp][] = [
      [{ ...frame, ciphertext: flipByte(frame.ciphertext, 0) }, /Frame seq 2 failed authentication/],
      [{ ...frame, iv: flipByte(frame.iv, 11) }, /Frame seq 2 failed authentication/],
      [{ ...frame, seq: 3 }, /seq 3 is out of order: expected 2/],
      [
        { ...frame, sessionId: 'ses_2' },
        /belongs to session "ses_2", but this channel is bound to session "ses_1"/,
      ],
      [{ ...frame, sender: 'server' }, /reflected back to its sender/],
      [{ ...frame, type: 'other' } as unknown as EncryptedFrame, /Not an encrypted frame/],
    ];
    for (const [bad, message] of tampered) {
      const error = await rejectionOf(server.receive(bad));
      expect(error.code).toBe('ENCRYPTION_ERROR');
      expect(error.message).toMatch(message);
    }
    expect(await server.receive(frame)).toBe('second');
    expect(received.server).toEqual(['first', 'second']);
  });

  it('refuses replayed and reordered frames without losing its place', async () => {
    const { client, server, received } = await channels();
    const frames = [await client.send('a'), await client.send('b'), await client.send('c')];
    await server.receive(frames[0]);

    const reordered = await rejectionOf(server.receive(frames[2]));
    expect(reordered.message).toMatch(/seq 3 is out of order: expected 2, an earlier frame is missing/);
    await server.receive(frames[1]);
    const replayed = await rejectionOf(server.receive(frames[0]));
    expect(replayed.message).toMatch(/seq 1 was already received \(replay\): the next expected is 3/);
    await server.receive(frames[2]);
    expect(received.server).toEqual(['a', 'b', 'c']);
  });

  it('refuses a frame reflected back to its sender even with the sender field rewritten', async () => {
    const { client, server } = await channels();
    await client.receive(await server.receive(await client.send('hello')).then(() => server.send('hi')));
    const own = await client.send('mine');
    expect((await rejectionOf(client.receive(own))).message).toMatch(/reflected back to its sender/);
    // Disguised as the server's: same seq as the next server frame, but the client→server key and
    // additional data do not open as server→client.
    const disguised = { ...own, sender: 'server', seq: 2, publicKey: undefined };
    expect((await rejectionOf(client.receive(disguised))).message).toMatch(
      /Frame seq 2 failed authentication/,
    );
  });

  it('refuses frames of a third party and is not taken over by a forged first frame', async () => {
    const { client, server, received } = await channels();
    const intruder = await createEncryptedChannel({
      role: 'client',
      remotePublicKey: (await generateKeyPair()).publicKey,
      onMessage: () => undefined,
    });
    // A forged first frame: the intruder's key, but encrypted for another server.
    const forged = await intruder.send('let me in');
    expect((await rejectionOf(server.receive(forged))).message).toMatch(/Frame seq 1 failed authentication/);
    expect(server.getRemotePublicKey()).toBeUndefined();

    await server.receive(await client.send('genuine'));
    expect(server.getRemotePublicKey()).toBe(client.getPublicKey());
    const otherKey = await rejectionOf(server.receive({ ...(await intruder.send('again')), seq: 2 }));
    expect(otherKey.message).toMatch(/carries a public key other than the peer's/);
    expect(received.server).toEqual(['genuine']);
  });

  it('refuses frames of another session id', async () => {
    const server = await createEncryptedChannel({
      role: 'server',
      sessionId: 'ses_a',
      onMessage: () => undefined,
    });
    const client = await createEncryptedChannel({
      role: 'client',
      sessionId: 'ses_b',
      remotePublicKey: server.getPublicKey(),
      onMessage: () => undefined,
    });
    const frame = await client.send('wrong session');
    expect((await rejectionOf(server.receive(frame))).message).toMatch(/belongs to session "ses_b"/);
    // Relabelled to pass the check, the additional data still binds it to ses_b.
    const relabelled = { ...frame, sessionId: 'ses_a' };
    expect((await rejectionOf(server.receive(relabelled))).message).toMatch(/failed authentication/);
  });

  it('learns the peer key through setRemotePublicKey and refuses to change it', async () => {
    const keyPair = await generateKeyPair();
    const client = await createEncryptedChannel({ role: 'client', keyPair, onMessage: () => undefined });
    const server = await createEncryptedChannel({
      role: 'server',
      remotePublicKey: client.getPublicKey(),
      onMessage: () => undefined,
    });
    const early = await rejectionOf(client.send('too early'));
    expect(early.code).toBe('ENCRYPTION_ERROR');
    expect(early.message).toMatch(/Cannot send before the peer's public key is known/);

    // The server knows the client's key, so it can write first.
    expect(await client.receive(await server.send('server first'))).toBe('server first');
    expect(client.getRemotePublicKey()).toBe(server.getPublicKey());
    await client.setRemotePublicKey(server.getPublicKey());
    const change = await rejectionOf(client.setRemotePublicKey((await generateKeyPair()).publicKey));
    expect(change.message).toMatch(/talks to one peer only/);
    expect(await server.receive(await client.send('reply'))).toBe('reply');
  });

  it('reports frames that cannot be sent or opened clearly', async () => {
    const { client, server } = await channels();
    expect((await rejectionOf(client.send(undefined))).code).toBe('BAD_REQUEST');
    // A refused value takes no seq: the next frame is still 1.
    const frame = await client.send('ok');
    expect(frame.seq).toBe(1);
    const unknownKey = await rejectionOf(server.receive({ ...frame, publicKey: undefined }));
    expect(unknownKey.message).toMatch(/peer's public key is unknown and the frame does not carry one/);
    const badKey = await rejectionOf(server.receive({ ...frame, publicKey: 'AAAA' }));
    expect(badKey.message).toMatch(/not an uncompressed P-256 point/);
    expect(await server.receive(frame)).toBe('ok');
  });

  it('reports invalid options as CONFIGURATION_ERROR', async () => {
    const noHandler = await rejectionOf(
      createEncryptedChannel({ role: 'server', onMessage: undefined as unknown as () => void }),
    );
    expect(noHandler.code).toBe('CONFIGURATION_ERROR');
    const badRole = await rejectionOf(
      createEncryptedChannel({ role: 'peer' as 'client', onMessage: () => undefined }),
    );
    expect(badRole.message).toMatch(/role must be 'client' or 'server'/);
  });
});

describe('encrypted channels over a transport', () => {
  async function connected() {
    const [clientTransport, serverTransport] = createInMemoryTransportPair();
    const received = { client: [] as unknown[], server: [] as unknown[] };
    const errors = { client: [] as EnclaveError[], server: [] as EnclaveError[] };
    const closed = { client: 0, server: 0 };
    let server: EncryptedChannel | undefined;
    server = await createEncryptedChannel({
      role: 'server',
      sessionId: 'ses_t',
      transport: serverTransport,
      onMessage: (message) => {
        received.server.push(message);
        // Echo, to show the server can answer as soon as it learned the key.
        server?.send({ echo: message }).catch((error: EnclaveError) => errors.server.push(error));
      },
      onError: (error) => errors.server.push(error),
      onClose: () => closed.server++,
    });
    const client = await createEncryptedChannel({
      role: 'client',
      sessionId: 'ses_t',
      remotePublicKey: server.getPublicKey(),
      transport: clientTransport,
      onMessage: (message) => received.client.push(message),
      onError: (error) => errors.client.push(error),
      onClose: () => closed.client++,
    });
    return { client, server, received, errors, closed, clientTransport, serverTransport };
  }

  it('carries messages both ways in order, many sent at once', async () => {
    const { client, received, errors } = await connected();
    const count = 50;
    const frames = await Promise.all(Array.from({ length: count }, (_, index) => client.send({ index })));
    expect(frames.map((frame) => frame.seq)).toEqual(Array.from({ length: count }, (_, index) => index + 1));
    await eventually(() => received.client.length === count);
    expect(received.server).toEqual(Array.from({ length: count }, (_, index) => ({ index })));
    expect(received.client).toEqual(Array.from({ length: count }, (_, index) => ({ echo: { index } })));
    expect(errors).toEqual({ client: [], server: [] });
  });

  it('reports a frame refused on arrival through onError and keeps accepting valid ones', async () => {
    const { client, server, received, errors, clientTransport } = await connected();
    await client.send('one');
    await eventually(() => received.client.length === 1);
    // Something on the path injects a replay and garbage into the client→server direction.
    const replay = {
      type: 'encrypted_frame',
      sender: 'client',
      sessionId: 'ses_t',
      seq: 1,
      iv: 'AAAAAAAAAAAAAAAA',
      ciphertext: 'AAAAAAAAAAAAAAAAAAAAAA==',
    };
    await clientTransport.send(replay);
    await clientTransport.send('not a frame');
    await client.send('two');
    await eventually(() => received.client.length === 2);
    expect(received.server).toEqual(['one', 'two']);
    expect(errors.server.map((error) => error.code)).toEqual(['ENCRYPTION_ERROR', 'ENCRYPTION_ERROR']);
    expect(errors.server[0]!.message).toMatch(/seq 1 was already received/);
    expect(errors.server[1]!.message).toMatch(/Not an encrypted frame/);
    expect(server.handshakeComplete && client.handshakeComplete).toBe(true);
  });

  it('closes both ends: sends already accepted go out first, later sends are refused', async () => {
    const { client, server, received, closed } = await connected();
    const pending = client.send('last words');
    await client.close();
    await pending;
    await eventually(() => closed.server === 1);
    expect(received.server).toEqual(['last words']);
    expect(client.closed && server.closed).toBe(true);
    expect(closed).toEqual({ client: 1, server: 1 });
    expect((await rejectionOf(client.send('too late'))).code).toBe('CONNECTION_CLOSED');
    expect((await rejectionOf(server.send('too late'))).code).toBe('CONNECTION_CLOSED');
    const frame = {
      type: 'encrypted_frame',
      sender: 'client',
      sessionId: 'ses_t',
      seq: 2,
      iv: '',
      ciphertext: '',
    };
    expect((await rejectionOf(server.receive(frame))).code).toBe('CONNECTION_CLOSED');
    await client.close();
    expect(closed.client).toBe(1);
  });
});
