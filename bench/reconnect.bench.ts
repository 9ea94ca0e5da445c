/**
 * Reconnection building blocks of @enclave-vm/stream, each beside a naive baseline doing the same
 * job in the same run: the broker's per-session event log (`ReplayBuffer`, a ring buffer) against a
 * bounded array (`push` + `shift`, `filter` for replay), and `ReconnectingStream`'s per-event work
 * (seq check, duplicate/gap handling) against the bare transport it runs on. Ours and the baseline
 * are measured in short alternating rounds and the best round of each is reported: other work on
 * the shared machine can only slow a round down.
 */
import {
  createInMemoryTransportPair,
  ReconnectingStream,
  ReplayBuffer,
} from '../packages/stream/src/index.js';
import { opsPerSecond } from './lib/measure.js';
import type { BenchFigure, Benchmark } from './lib/report.js';

const ROUNDS = 7;
const ROUND_MS = 150;
const LOG_SIZE = 10_000;
const REPLAY_TAIL = 100;
const STREAM_EVENTS = 5_000;

interface LogEvent {
  seq: number;
  type: string;
  payload: { chunk: string };
}

function logEvent(seq: number): LogEvent {
  return { seq, type: 'stdout', payload: { chunk: `line ${seq}\n` } };
}

/** Best of alternating rounds: [ours, baseline]. */
async function alternate(
  ours: () => unknown | Promise<unknown>,
  baseline: () => unknown | Promise<unknown>,
  batch = 1,
): Promise<[number, number]> {
  let bestOurs = 0;
  let bestBaseline = 0;
  for (let round = 0; round < ROUNDS; round++) {
    bestOurs = Math.max(bestOurs, await opsPerSecond(ours, { durationMs: ROUND_MS, warmupMs: 30, batch }));
    bestBaseline = Math.max(
      bestBaseline,
      await opsPerSecond(baseline, { durationMs: ROUND_MS, warmupMs: 30, batch }),
    );
  }
  return [bestOurs, bestBaseline];
}

async function appendFigure(): Promise<BenchFigure> {
  const buffer = new ReplayBuffer<LogEvent>({ maxEvents: LOG_SIZE });
  const array: LogEvent[] = [];
  let bufferSeq = 0;
  let arraySeq = 0;
  const batch = 1000;
  const [ours, baseline] = await alternate(
    () => {
      for (let index = 0; index < batch; index++) buffer.append(logEvent(++bufferSeq));
    },
    () => {
      for (let index = 0; index < batch; index++) {
        array.push(logEvent(++arraySeq));
        if (array.length > LOG_SIZE) array.shift();
      }
    },
    batch,
  );
  return {
    name: `append to a full ${LOG_SIZE.toLocaleString('en-US')}-event log (evicting)`,
    value: ours,
    unit: 'events/s',
    baselineName: 'array push + shift',
    baseline,
    higherIsBetter: true,
    goal: { ratio: 0.8 },
  };
}

async function replayFigure(): Promise<BenchFigure> {
  const buffer = new ReplayBuffer<LogEvent>({ maxEvents: LOG_SIZE });
  const array: LogEvent[] = [];
  // Wrap the ring once so that the range crosses its end, as in a long-running session.
  for (let seq = 1; seq <= LOG_SIZE * 1.5; seq++) {
    buffer.append(logEvent(seq));
    array.push(logEvent(seq));
    if (array.length > LOG_SIZE) array.shift();
  }
  const fromSeq = LOG_SIZE * 1.5 - REPLAY_TAIL + 1;
  let sink = 0;
  const [ours, baseline] = await alternate(
    () => {
      const range = buffer.since(fromSeq);
      if (range.ok) sink += range.events.length;
    },
    () => {
      sink += array.filter((event) => event.seq >= fromSeq).length;
    },
  );
  if (sink === 0) throw new Error('replay returned nothing');
  return {
    name: `resume: last ${REPLAY_TAIL} of ${LOG_SIZE.toLocaleString('en-US')} events`,
    value: ours,
    unit: 'replays/s',
    baselineName: 'array filter by seq',
    baseline,
    higherIsBetter: true,
    goal: { ratio: 10 },
  };
}

/** Sends `STREAM_EVENTS` events over a fresh in-memory pair and resolves when the last arrived. */
function pumpThroughStream(events: LogEvent[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = new ReconnectingStream<LogEvent>({
      url: 'memory://bench',
      sessionId: 'ses_bench',
      heartbeatTimeout: 0,
      createTransport: () => {
        const [client, server] = createInMemoryTransportPair();
        server.onmessage = () => {
          for (const event of events) void server.send(event);
        };
        void server.start();
        return client;
      },
      onMessage: (message) => {
        if (message.seq === events.length) void stream.close().then(resolve);
      },
      onError: reject,
    });
    stream.connect().catch(reject);
  });
}

/** The baseline: the same events over a bare in-memory pair. */
async function pumpThroughTransport(events: LogEvent[]): Promise<void> {
  const [client, server] = createInMemoryTransportPair();
  const done = new Promise<void>((resolve) => {
    client.onmessage = (message) => {
      if ((message as LogEvent).seq === events.length) resolve();
    };
  });
  await Promise.all([client.start(), server.start()]);
  for (const event of events) void server.send(event);
  await done;
  await client.close();
}

async function streamFigure(): Promise<BenchFigure> {
  const events = Array.from({ length: STREAM_EVENTS - 1 }, (_, index) => logEvent(index + 1));
  events.push({ seq: STREAM_EVENTS, type: 'final', payload: { chunk: '' } });
  const [ours, baseline] = await alternate(
    () => pumpThroughStream(events),
    () => pumpThroughTransport(events),
    STREAM_EVENTS,
  );
  return {
    name: 'ReconnectingStream delivery over an in-memory pair',
    value: ours,
    unit: 'events/s',
    baselineName: 'bare in-memory transport',
    baseline,
    higherIsBetter: true,
    goal: { ratio: 0.8 },
  };
}

const benchmark: Benchmark = {
  title: 'Reconnection: replay log and ordered delivery',
  async run() {
    return [await appendFigure(), await replayFigure(), await streamFigure()];
  },
};

export default benchmark;
