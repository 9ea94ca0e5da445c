import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChannelFrame,
  createChannelMemory,
  RING_BYTES,
  ThreadChannel,
} from '../../src/pool/thread-channel.js';

const ports: MessageChannel[] = [];

function pair(): { pool: ThreadChannel; thread: ThreadChannel } {
  const memory = createChannelMemory();
  const bulk = new MessageChannel();
  ports.push(bulk);
  return {
    pool: new ThreadChannel(memory, 'pool', bulk.port1),
    thread: new ThreadChannel(memory, 'thread', bulk.port2),
  };
}

function receiveAll(end: ThreadChannel): ChannelFrame[] {
  const frames: ChannelFrame[] = [];
  let frame = end.receive();
  while (frame !== undefined) {
    frames.push(frame);
    frame = end.receive();
  }
  return frames;
}

afterEach(() => {
  for (const channel of ports.splice(0)) {
    channel.port1.close();
    channel.port2.close();
  }
});

describe('ThreadChannel', () => {
  it('carries strings (any Unicode) and numbers, each direction on its own', () => {
    const { pool, thread } = pair();
    pool.send(['e', 1, 'ses_1', 'return "héllo ✓ 😀"', -0.5, '']);
    thread.send([7, '[{"type":"final"}]']);
    expect(receiveAll(thread)).toEqual([['e', 1, 'ses_1', 'return "héllo ✓ 😀"', -0.5, '']]);
    expect(receiveAll(pool)).toEqual([[7, '[{"type":"final"}]']]);
    expect(thread.receive()).toBeUndefined();
  });

  it('keeps the order of frames that go through the ring and of frames too large for it', () => {
    const { pool, thread } = pair();
    const large = 'x'.repeat(RING_BYTES);
    const sent: ChannelFrame[] = [];
    for (let index = 0; index < 40; index++) {
      const frame: ChannelFrame = index % 7 === 3 ? [index, large] : [index, `small ${index}`];
      sent.push(frame);
      pool.send(frame);
    }
    expect(receiveAll(thread)).toEqual(sent);
  });

  it('wraps around the ring and falls back to the port while the ring is full, losing nothing', () => {
    const { pool, thread } = pair();
    const text = 'y'.repeat(30_000);
    const received: ChannelFrame[] = [];
    // Ten rings' worth, read in uneven bursts, so frames wrap and some find the ring full.
    for (let index = 0; index < 180; index++) {
      pool.send([index, text]);
      if (index % 23 === 22) received.push(...receiveAll(thread));
    }
    received.push(...receiveAll(thread));
    expect(received.map((frame) => frame[0])).toEqual(Array.from({ length: 180 }, (_, index) => index));
    expect(received.every((frame) => frame[1] === text)).toBe(true);
  });

  it('counts the frames the thread handled', () => {
    const { pool, thread } = pair();
    pool.send(['a']);
    pool.send(['b']);
    expect(pool.sentCount - pool.handledByThread).toBe(2);
    thread.receive();
    thread.acknowledge();
    expect(pool.sentCount - pool.handledByThread).toBe(1);
  });

  it('wakes a thread blocked in Atomics.wait, and the pool through waitAsync', async () => {
    // Blocks (no event loop) until the pool writes.
    const { pool, worker } = startEchoThread(`
      while (!channel.waitSync(60000)) {}
      const frame = channel.receive();
      if (frame[0] === 'stop') break;
      channel.send(['echo', ...frame]);
    `);
    try {
      for (let round = 0; round < 50; round++) {
        pool.send([round, 'x'.repeat(round * 1000)]);
        let frame = pool.receive();
        while (frame === undefined) {
          await pool.waitAsync();
          frame = pool.receive();
        }
        expect(frame).toEqual(['echo', round, 'x'.repeat(round * 1000)]);
      }
      pool.send(['stop']);
      const code = await new Promise((resolve) => worker.once('exit', resolve));
      expect(code).toBe(0);
    } finally {
      await worker.terminate();
    }
  });
});

describe('ThreadChannel.poll', () => {
  it('says no frame came within its window, and wakes by the usual wait afterwards', async () => {
    const { pool, thread } = pair();
    expect(pool.poll(1)).toBe(false);
    // The poll is over: the next frame wakes a waiting pool as any frame does.
    const woken = pool.waitAsync();
    thread.send(['after the poll']);
    await woken;
    expect(pool.receive()).toEqual(['after the poll']);
    thread.send(['waiting']);
    expect(pool.poll(1)).toBe(true);
  });

  it('sees the frames of the other thread while it polls', async () => {
    // Polls (never blocks) for up to 10 s, and says whether the frame came in that time.
    const { pool, worker } = startEchoThread(`
      const found = channel.poll(10000);
      const frame = channel.receive();
      if (frame[0] === 'stop') break;
      channel.send(['echo', found ? 1 : 0, ...frame]);
    `);
    try {
      for (let round = 0; round < 30; round++) {
        pool.send([round]);
        let frame = pool.receive();
        while (frame === undefined) {
          if (!pool.poll(5)) await pool.waitAsync();
          frame = pool.receive();
        }
        expect(frame).toEqual(['echo', 1, round]);
      }
      pool.send(['stop']);
      expect(await new Promise((resolve) => worker.once('exit', resolve))).toBe(0);
    } finally {
      await worker.terminate();
    }
  });
});

/**
 * A worker thread holding the other end of a new channel, running `loopBody` in a `for (;;)` loop
 * with `channel` in scope (the body breaks out on a `stop` frame).
 */
function startEchoThread(loopBody: string): { pool: ThreadChannel; worker: Worker } {
  const memory = createChannelMemory();
  const bulk = new MessageChannel();
  ports.push(bulk);
  const pool = new ThreadChannel(memory, 'pool', bulk.port1);
  const source = `
    const { workerData } = require('node:worker_threads');
    import(workerData.register)
      .then((tsx) => { tsx.register(); return import(workerData.module); })
      .then(({ ThreadChannel }) => {
        const channel = new ThreadChannel(workerData.memory, 'thread', workerData.port);
        for (;;) { ${loopBody} }
      });
  `;
  const worker = new Worker(source, {
    eval: true,
    workerData: { memory, port: bulk.port2, module: channelModuleUrl(), register: tsxRegisterUrl() },
    transferList: [bulk.port2],
  });
  return { pool, worker };
}

function channelModuleUrl(): string {
  return new URL('../../src/pool/thread-channel.ts', import.meta.url).href;
}

/** tsx's loader, so that the worker can import this TypeScript module. */
function tsxRegisterUrl(): string {
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  return pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
}
