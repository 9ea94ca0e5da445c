/**
 * The package's two builds (run `pnpm build` first): Node resolves the Node build, which seals and
 * opens with node:crypto; the browser build uses Web Crypto. Both produce the same wire format, so
 * a broker on Node and a client in a browser understand each other.
 */
import { createRequire } from 'node:module';
import type { StreamEvent } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';

type StreamModule = typeof import('../src/index.js');

const nodeBuild = (await import('../dist/index.node.js' as string)) as StreamModule;
const browserBuild = (await import('../dist/index.js' as string)) as StreamModule;

function event(seq: number, chunk: string): StreamEvent {
  return {
    protocolVersion: '1.0',
    sessionId: 'ses_builds',
    seq,
    ts: 1_767_225_600_000,
    type: 'stdout',
    payload: { chunk },
  };
}

async function ciphers(server: StreamModule, client: StreamModule) {
  const serverKeys = await server.generateKeyPair();
  const clientKeys = await client.generateKeyPair();
  const salt = server.generateSalt();
  return {
    server: await server.createSessionCipher({
      role: 'server',
      keyPair: serverKeys,
      remotePublicKey: await client.exportPublicKey(clientKeys.publicKey),
      sessionId: 'ses_builds',
      salt,
    }),
    client: await client.createSessionCipher({
      role: 'client',
      keyPair: clientKeys,
      remotePublicKey: await server.exportPublicKey(serverKeys.publicKey),
      sessionId: 'ses_builds',
      salt,
    }),
  };
}

describe('the Node and browser builds', () => {
  it('resolve by platform: a Node consumer gets the Node build in both module systems', () => {
    const consumer = createRequire(new URL('../../broker/package.json', import.meta.url));
    expect(consumer.resolve('@enclave-vm/stream')).toMatch(/dist[\\/]index\.node\.cjs$/);
  });

  for (const [server, client, name] of [
    [nodeBuild, browserBuild, 'events sealed by the Node build open in the browser build'],
    [browserBuild, nodeBuild, 'events sealed by the browser build open in the Node build'],
  ] as const) {
    it(name, async () => {
      const pair = await ciphers(server, client);
      const events = Array.from({ length: 50 }, (_, index) => event(index + 1, `line ${index} ✓`));
      const sealed = await pair.server.sealEvents(events);
      expect(sealed.every((item) => item.type === 'encrypted')).toBe(true);
      const opened = await pair.client.openEvents(sealed);
      expect(opened.failure).toBeUndefined();
      expect(opened.events).toEqual(events);
      // A replayed event is refused by either build.
      await expect(pair.client.openEvent(sealed[10] as never)).rejects.toMatchObject({
        code: 'ENCRYPTION_ERROR',
      });
      // A changed event stops a batch there; the events after it can be offered again.
      const more = await pair.server.sealEvents([event(51, 'a'), event(52, 'b'), event(53, 'c')]);
      const tampered = {
        ...more[1],
        payload: {
          ...(more[1] as { payload: object }).payload,
          iv: (more[0] as { payload: { iv: string } }).payload.iv,
        },
      };
      const partial = await pair.client.openEvents([more[0], tampered, more[2]] as never);
      expect(partial.events.map((item) => item.seq)).toEqual([51]);
      expect(partial.failure?.code).toBe('ENCRYPTION_ERROR');
      const rest = await pair.client.openEvents([more[1], more[2]] as never);
      expect(rest.failure).toBeUndefined();
      expect(rest.events.map((item) => item.seq)).toEqual([52, 53]);
      const message = await pair.client.sealMessage({ callId: 'call_1', result: [1, 2, 3] });
      expect(await pair.server.openMessage(message)).toEqual({ callId: 'call_1', result: [1, 2, 3] });
    });
  }
});
