/**
 * Several brokers on one Redis (`pnpm bench redis`), each figure beside a baseline measured in the
 * same run, on a redis-server started for the run (persistence off, loopback):
 *
 * 1. A session printing 100,000 lines, iterated with `broker.execute` on the broker running it:
 *    events/s with the Redis store ÷ the in-memory store. The same with the session followed from
 *    another broker (`streamEvents` there, read through `XREAD`).
 * 2. A client tool answered over HTTP: the round trip from a `tool_call` event to the next one,
 *    with the client connected to another broker (answers routed to the owner over pub/sub, events
 *    read from Redis) ÷ connected to the broker running the session.
 * 3. Resume: `GET /sessions/:id/events?fromSeq=N` of a running session until its first event, on
 *    another broker ÷ on the broker running it.
 * 4. A broker process killed with SIGKILL under the default lease: time until another broker has
 *    logged the `final` (BROKER_LOST) of its session, against the 10 s bound.
 *
 * Rounds alternate between figure and baseline and the best round of each is kept: the machine is
 * shared, and other work can only slow a round down.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createBroker, type EnclaveBroker } from '../packages/broker/src/index.js';
import { startRedisServer } from '../packages/broker/test/redis-server.js';
import { percentile } from './lib/measure.js';
import type { BenchFigure, Benchmark } from './lib/report.js';

const LINES = 100_000;
const PRINT_ROUNDS = 3;
const TOOL_CALLS = 40;
const TOOL_ROUNDS = 3;
const RESUME_SAMPLES = 60;
const RESUME_ROUNDS = 3;
const PRINTING = `for (let line = 0; line < ${LINES}; line++) console.log(line); return 'printed'`;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const here = fileURLToPath(new URL('.', import.meta.url));

interface Node {
  broker: EnclaveBroker;
  client: Redis | undefined;
  url: string;
}

async function startNode(options: { redisUrl?: string; keyPrefix?: string } = {}): Promise<Node> {
  const client =
    options.redisUrl === undefined ? undefined : new Redis(options.redisUrl, { lazyConnect: true });
  const broker = createBroker({
    poolSize: 1,
    securityLevel: 'PERMISSIVE',
    logger: quiet,
    ...(client === undefined ? {} : { redis: client, keyPrefix: options.keyPrefix }),
  });
  await broker.listen(0);
  return { broker, client, url: `http://127.0.0.1:${broker.address().port}` };
}

async function stopNode(node: Node): Promise<void> {
  await node.broker.close();
  node.client?.disconnect();
}

/** Events per second of one printing session, iterated on `owner` (or followed on `follower`). */
async function printRate(owner: EnclaveBroker, follower?: EnclaveBroker): Promise<number> {
  const start = performance.now();
  let events = 0;
  let last: { type: string; payload: unknown } | undefined;
  if (follower === undefined) {
    for await (const event of owner.execute(PRINTING)) {
      events++;
      last = event;
    }
  } else {
    const session = await owner.startSession({ code: PRINTING });
    for await (const event of follower.streamEvents(session.id)) {
      events++;
      last = event;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  if (last?.type !== 'final' || events < LINES) throw new Error(`unexpected end after ${events} events`);
  return events / seconds;
}

async function printing(redisUrl: string): Promise<BenchFigure[]> {
  const keyPrefix = `bench:${randomUUID().slice(0, 8)}:`;
  const memory = await startNode();
  const owner = await startNode({ redisUrl, keyPrefix });
  const other = await startNode({ redisUrl, keyPrefix });
  await printRate(memory.broker);
  await printRate(owner.broker);
  let bestMemory = 0;
  let bestRedis = 0;
  let bestFollowed = 0;
  for (let round = 0; round < PRINT_ROUNDS; round++) {
    bestMemory = Math.max(bestMemory, await printRate(memory.broker));
    bestRedis = Math.max(bestRedis, await printRate(owner.broker));
    bestFollowed = Math.max(bestFollowed, await printRate(owner.broker, other.broker));
  }
  await Promise.all([memory, owner, other].map(stopNode));
  return [
    {
      name: `session printing ${LINES.toLocaleString('en-US')} lines, Redis store, on its broker`,
      value: bestRedis,
      unit: 'events/s',
      baselineName: 'in-memory store',
      baseline: bestMemory,
      higherIsBetter: true,
      goal: { ratio: 0.5 },
    },
    {
      name: `same session followed from another broker (XREAD)`,
      value: bestFollowed,
      unit: 'events/s',
      baselineName: 'in-memory store, on its broker',
      baseline: bestMemory,
      higherIsBetter: true,
    },
  ];
}

/** Reads NDJSON events of a response as they come. */
function eventsOf(
  response: Response,
): AsyncIterator<{ type: string; seq: number; payload: Record<string, unknown> }> {
  const body = response.body;
  if (body === null) throw new Error('no body');
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  return {
    async next() {
      for (;;) {
        const newline = buffered.indexOf('\n');
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return { done: false, value: JSON.parse(line) };
        }
        const chunk = await reader.read();
        if (chunk.done) return { done: true, value: undefined };
        buffered += decoder.decode(chunk.value, { stream: true });
      }
    },
    async return() {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}

/** Median ms from one client tool_call to the next, the client on `client` and the session on `owner`. */
async function toolRoundTrip(owner: Node, client: Node): Promise<number> {
  const code = `let total = 0; for (let i = 0; i < ${TOOL_CALLS}; i++) total += await tools.ask({ i }); return total`;
  const session = await owner.broker.startSession({ code });
  const events = eventsOf(await fetch(`${client.url}/sessions/${session.id}/events`));
  const samples: number[] = [];
  let sent = 0;
  for (;;) {
    const next = await events.next();
    if (next.done === true) throw new Error('the stream ended');
    const event = next.value;
    if (event.type === 'final') break;
    if (event.type !== 'tool_call') continue;
    if (sent > 0) samples.push(performance.now() - sent);
    sent = performance.now();
    const answered = await fetch(`${client.url}/sessions/${session.id}/tool-result`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ callId: event.payload.callId, result: 1 }),
    });
    if (answered.status !== 200) throw new Error(`tool-result answered ${answered.status}`);
  }
  await events.return?.();
  return percentile(samples, 50);
}

async function toolResults(redisUrl: string): Promise<BenchFigure[]> {
  const keyPrefix = `bench:${randomUUID().slice(0, 8)}:`;
  const owner = await startNode({ redisUrl, keyPrefix });
  const other = await startNode({ redisUrl, keyPrefix });
  await toolRoundTrip(owner, owner);
  await toolRoundTrip(owner, other);
  let same = Number.POSITIVE_INFINITY;
  let cross = Number.POSITIVE_INFINITY;
  for (let round = 0; round < TOOL_ROUNDS; round++) {
    same = Math.min(same, await toolRoundTrip(owner, owner));
    cross = Math.min(cross, await toolRoundTrip(owner, other));
  }
  await Promise.all([owner, other].map(stopNode));
  return [
    {
      name: 'client tool round trip over HTTP (tool_call → tool-result → next tool_call), client on another broker, p50',
      value: cross,
      unit: 'ms',
      baselineName: 'client on the broker running the session',
      baseline: same,
      higherIsBetter: false,
      goal: { ratio: 1.5 },
    },
  ];
}

/** Median ms of `GET …/events?fromSeq=N` on `client` until its first event, for a running session. */
async function resumeLatency(client: Node, sessionId: string, fromSeq: number): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < RESUME_SAMPLES; index++) {
    const start = performance.now();
    const events = eventsOf(await fetch(`${client.url}/sessions/${sessionId}/events?fromSeq=${fromSeq}`));
    const first = await events.next();
    samples.push(performance.now() - start);
    await events.return?.();
    if (first.done === true || first.value.seq !== fromSeq) throw new Error('unexpected first event');
  }
  return percentile(samples, 50);
}

async function resumes(redisUrl: string): Promise<BenchFigure[]> {
  const keyPrefix = `bench:${randomUUID().slice(0, 8)}:`;
  const owner = await startNode({ redisUrl, keyPrefix });
  const other = await startNode({ redisUrl, keyPrefix });
  // A running session with a few hundred events logged; the resume asks for the last hundred.
  const session = await owner.broker.startSession({
    code: 'for (let i = 0; i < 300; i++) console.log(i); return await tools.ask({})',
  });
  let lastSeq = 0;
  for await (const event of owner.broker.streamEvents(session.id)) {
    lastSeq = event.seq;
    if (event.type === 'tool_call') break;
  }
  const fromSeq = lastSeq - 100;
  await resumeLatency(owner, session.id, fromSeq);
  await resumeLatency(other, session.id, fromSeq);
  let same = Number.POSITIVE_INFINITY;
  let cross = Number.POSITIVE_INFINITY;
  for (let round = 0; round < RESUME_ROUNDS; round++) {
    same = Math.min(same, await resumeLatency(owner, session.id, fromSeq));
    cross = Math.min(cross, await resumeLatency(other, session.id, fromSeq));
  }
  await owner.broker.cancelSession(session.id);
  await Promise.all([owner, other].map(stopNode));
  return [
    {
      name: 'resume a running session (101 events to replay) until its first event, on another broker, p50',
      value: cross,
      unit: 'ms',
      baselineName: 'on the broker running it',
      baseline: same,
      higherIsBetter: false,
    },
  ];
}

/** Ms from SIGKILL of a broker process to the final another broker logs for its session. */
async function ownerDeath(redisUrl: string): Promise<BenchFigure[]> {
  const keyPrefix = `bench:${randomUUID().slice(0, 8)}:`;
  const doomed = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, '..', 'packages', 'broker', 'test', 'fixtures', 'cluster-broker.ts')],
    {
      env: { ...process.env, REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix, LEASE_TIMEOUT: '5000' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: doomed.stdout as NonNullable<ChildProcess['stdout']> }).on('line', (line) => {
      const match = /^listening (\d+)/.exec(line);
      if (match !== null) resolve(Number(match[1]));
    });
    doomed.once('exit', () => reject(new Error('the broker process exited')));
  });
  const survivor = await startNode({ redisUrl, keyPrefix });
  const started = await fetch(`http://127.0.0.1:${port}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: 'return await tools.ask({})' }),
  });
  const sessionId = started.headers.get('x-session-id') ?? '';
  const ownerEvents = eventsOf(started);
  while ((await ownerEvents.next()).value?.type !== 'tool_call');
  // Leave the survivor time to renew its own lease for a while, as a broker that has been up would.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const followed = (async () => {
    for await (const event of survivor.broker.streamEvents(sessionId)) {
      if (event.type === 'final') return performance.now();
    }
    throw new Error('no final');
  })();
  const killedAt = performance.now();
  doomed.kill('SIGKILL');
  const endedAt = await followed;
  await stopNode(survivor);
  return [
    {
      name: 'SIGKILL of the broker running a session → BROKER_LOST final logged by another (default lease 5 s)',
      value: endedAt - killedAt,
      unit: 'ms',
      higherIsBetter: false,
      goal: { value: 10_000 },
    },
  ];
}

const benchmark: Benchmark = {
  title: 'Several brokers on one Redis: printing, client tools, resume, owner death',
  async run() {
    const redis = await startRedisServer();
    try {
      return [
        ...(await printing(redis.url)),
        ...(await toolResults(redis.url)),
        ...(await resumes(redis.url)),
        ...(await ownerDeath(redis.url)),
      ];
    } finally {
      await redis.stop();
    }
  },
};

export default benchmark;
