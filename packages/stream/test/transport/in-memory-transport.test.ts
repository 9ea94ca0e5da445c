import { EnclaveError } from '@enclave-vm/types';
import { describe, expect, it } from 'vitest';
import { createInMemoryTransportPair } from '../../src/transport/in-memory-transport.js';
import type { Transport } from '../../src/transport/transport.js';

function collect(transport: Transport): unknown[] {
  const received: unknown[] = [];
  transport.onmessage = (message) => received.push(message);
  return received;
}

function closed(transport: Transport): Promise<void> {
  return new Promise((resolve) => {
    transport.onclose = resolve;
  });
}

describe('createInMemoryTransportPair', () => {
  it('delivers messages both ways, in order, as copies', async () => {
    const [client, server] = createInMemoryTransportPair();
    const atServer = collect(server);
    const atClient = collect(client);
    await Promise.all([client.start(), server.start()]);

    const original = { type: 'ping', nested: { value: 1 } };
    await client.send(original);
    await client.send({ type: 'second' });
    await server.send({ type: 'pong' });
    original.nested.value = 2;
    await Promise.resolve();
    await Promise.resolve();

    expect(atServer).toEqual([{ type: 'ping', nested: { value: 1 } }, { type: 'second' }]);
    expect(atClient).toEqual([{ type: 'pong' }]);
  });

  it('delivers asynchronously, never inside send()', async () => {
    const [client, server] = createInMemoryTransportPair();
    const atServer = collect(server);
    await Promise.all([client.start(), server.start()]);
    const sent = client.send('hello');
    expect(atServer).toEqual([]);
    await sent;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(atServer).toEqual(['hello']);
  });

  it('holds messages sent before the peer started until its start()', async () => {
    const [client, server] = createInMemoryTransportPair();
    await client.start();
    await client.send(1);
    await client.send(2);
    const atServer = collect(server);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(atServer).toEqual([]);
    await server.start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(atServer).toEqual([1, 2]);
  });

  it('closing one end closes the other after delivering what was already sent', async () => {
    const [client, server] = createInMemoryTransportPair();
    const atServer = collect(server);
    await Promise.all([client.start(), server.start()]);
    const clientClosed = closed(client);
    const serverClosed = closed(server);
    await client.send('last words');
    await client.close();
    await Promise.all([clientClosed, serverClosed]);
    expect(atServer).toEqual(['last words']);
  });

  it('rejects send before start and after close with CONNECTION_CLOSED', async () => {
    const [client, server] = createInMemoryTransportPair();
    await expect(client.send('early')).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    await Promise.all([client.start(), server.start()]);
    const clientClosed = closed(client);
    await server.close();
    await clientClosed;
    const error = await client.send('late').catch((caught: unknown) => caught);
    expect(EnclaveError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('fires onclose once even when both ends close', async () => {
    const [client, server] = createInMemoryTransportPair();
    let clientCloses = 0;
    let serverCloses = 0;
    client.onclose = () => clientCloses++;
    server.onclose = () => serverCloses++;
    await Promise.all([client.start(), server.start()]);
    await Promise.all([client.close(), server.close(), client.close()]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect([clientCloses, serverCloses]).toEqual([1, 1]);
  });

  it('rejects values JSON cannot carry with BAD_REQUEST', async () => {
    const [client, server] = createInMemoryTransportPair();
    await Promise.all([client.start(), server.start()]);
    await expect(client.send({ big: 1n })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(client.send(undefined)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('keeps delivering after a handler throws, reporting the throw to onerror', async () => {
    const [client, server] = createInMemoryTransportPair();
    const received: unknown[] = [];
    const errors: Error[] = [];
    server.onmessage = (message) => {
      received.push(message);
      if (message === 'bad') throw new Error('handler failed');
    };
    server.onerror = (error) => errors.push(error);
    await Promise.all([client.start(), server.start()]);
    await client.send('bad');
    await client.send('good');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(received).toEqual(['bad', 'good']);
    expect(errors.map((error) => error.message)).toEqual(['handler failed']);
  });

  it('refuses a second start()', async () => {
    const [client] = createInMemoryTransportPair();
    await client.start();
    await expect(client.start()).rejects.toMatchObject({ code: 'CONFIGURATION_ERROR' });
  });
});
