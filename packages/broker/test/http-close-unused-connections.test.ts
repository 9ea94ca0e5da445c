import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestBroker } from './http-test-helpers.js';

describe('closing with connections that never sent a request', () => {
  it('close() ends them instead of waiting for the client to give up', async () => {
    const server = await startTestBroker();
    const socket = connect(server.broker.address().port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closedByServer = new Promise((resolve) => socket.once('close', resolve));
    await server.close();
    await closedByServer;
    expect(socket.destroyed).toBe(true);
  });
});
