/**
 * NDJSON framing throughput of @enclave-vm/stream, each figure beside a raw baseline doing the same
 * work with bare `JSON.stringify` / `JSON.parse` (plus the join/split and UTF-8 step it needs) over the
 * same lines, in the same run. Ours and the baseline are measured in short alternating rounds and
 * the best round of each is reported: other work on the shared machine can only slow a round down,
 * and alternating lets it hit both alike. MB = 10^6 bytes of NDJSON (UTF-8).
 */
import {
  createNDJSONDecoderStream,
  parseNDJSON,
  readNDJSON,
  StreamDecoder,
  StreamEncoder,
  stringifyNDJSON,
} from '../packages/stream/src/index.js';
import { opsPerSecond } from './lib/measure.js';
import type { BenchFigure, Benchmark } from './lib/report.js';

const ROUNDS = 15;
const ROUND_MS = 100;
const CHUNK_SIZE = 64 * 1024;
const BATCH_BYTES = 1_000_000;
const DECODE_GOAL = 0.8;
const ENCODE_GOAL = 0.9;

const utf8Encoder = new TextEncoder();

/** A `stdout` event of about 200 bytes of NDJSON. */
function smallEvent(seq: number): unknown {
  return {
    protocolVersion: 1,
    sessionId: 'ses_8f14e45fceea167a5a36dedd4bea2543',
    seq,
    ts: 1_718_000_000_000 + seq,
    type: 'stdout',
    payload: { chunk: `processed item ${seq}: status=ok, elapsed=12ms, note=café ✓\n` },
  };
}

/** A `tool_result_applied` event carrying about 20 KB of tool result. */
function largeEvent(seq: number): unknown {
  return {
    protocolVersion: 1,
    sessionId: 'ses_8f14e45fceea167a5a36dedd4bea2543',
    seq,
    ts: 1_718_000_000_000 + seq,
    type: 'tool_result_applied',
    payload: {
      callId: `call_${seq}`,
      ok: true,
      durationMs: 41.5,
      result: Array.from({ length: 130 }, (_, index) => ({
        id: seq * 1000 + index,
        name: `User ${index}`,
        email: `user${index}@example.com`,
        active: index % 3 !== 0,
        score: (index * 7.31) % 100,
        tags: ['alpha', 'beta'],
      })),
    },
  };
}

interface Workload {
  label: string;
  messages: unknown[];
  text: string;
  bytes: Uint8Array;
  chunks: Uint8Array[];
}

function workload(label: string, make: (seq: number) => unknown): Workload {
  const lineBytes = utf8Encoder.encode(`${JSON.stringify(make(1))}\n`).length;
  const count = Math.max(1, Math.round(BATCH_BYTES / lineBytes));
  const messages = Array.from({ length: count }, (_, index) => make(index + 1));
  const text = messages.map((message) => JSON.stringify(message)).join('\n') + '\n';
  const bytes = utf8Encoder.encode(text);
  const chunks: Uint8Array[] = [];
  for (let position = 0; position < bytes.length; position += CHUNK_SIZE) {
    chunks.push(bytes.subarray(position, position + CHUNK_SIZE));
  }
  return {
    label: `${label} events (${count.toLocaleString('en-US')} lines/batch)`,
    messages,
    text,
    bytes,
    chunks,
  };
}

// Keeps results alive so that the engine cannot drop the work.
let sink = 0;

/**
 * Reads a character from the middle of `text`, which makes V8 flatten a string built by
 * concatenation, as writing it to a socket would: both sides then pay for a flat string.
 */
function flatten(text: string): number {
  return text.charCodeAt(text.length >> 1);
}

/** Batches per second of `ours` and `baseline`, measured in alternating rounds. */
async function compare(
  ours: () => unknown,
  baseline: () => unknown,
): Promise<{ ours: number; baseline: number }> {
  const oursRates: number[] = [];
  const baselineRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    oursRates.push(await opsPerSecond(ours, { durationMs: ROUND_MS, warmupMs: round === 0 ? 200 : 20 }));
    baselineRates.push(
      await opsPerSecond(baseline, { durationMs: ROUND_MS, warmupMs: round === 0 ? 200 : 20 }),
    );
  }
  return { ours: Math.max(...oursRates), baseline: Math.max(...baselineRates) };
}

/** Two figures, MB/s and messages/s, for one comparison. */
function figures(
  name: string,
  baselineName: string,
  load: Workload,
  rates: { ours: number; baseline: number },
  ratioGoal: number | undefined,
): BenchFigure[] {
  const goal = ratioGoal === undefined ? undefined : { ratio: ratioGoal };
  const megabytes = load.bytes.length / 1e6;
  const count = load.messages.length;
  return [
    {
      name: `${name}, ${load.label}`,
      value: rates.ours * megabytes,
      unit: 'MB/s',
      baselineName,
      baseline: rates.baseline * megabytes,
      higherIsBetter: true,
      goal,
    },
    {
      name: `${name}, ${load.label}`,
      value: rates.ours * count,
      unit: 'msg/s',
      baselineName,
      baseline: rates.baseline * count,
      higherIsBetter: true,
      goal,
    },
  ];
}

async function runWorkload(load: Workload): Promise<BenchFigure[]> {
  const encoder = new StreamEncoder();
  const decoder = new StreamDecoder();
  decoder.on('message', () => {
    sink++;
  });
  const results: BenchFigure[] = [];

  results.push(
    ...figures(
      'encode: stringifyNDJSON',
      'JSON.stringify each + join',
      load,
      await compare(
        () => {
          sink += flatten(stringifyNDJSON(load.messages));
        },
        () => {
          sink += flatten(load.messages.map((message) => JSON.stringify(message)).join('\n') + '\n');
        },
      ),
      ENCODE_GOAL,
    ),
  );

  results.push(
    ...figures(
      'encode: StreamEncoder.encodeBytes per message',
      'TextEncoder(JSON.stringify + \\n)',
      load,
      await compare(
        () => {
          for (const message of load.messages) sink += encoder.encodeBytes(message).length;
        },
        () => {
          for (const message of load.messages)
            sink += utf8Encoder.encode(`${JSON.stringify(message)}\n`).length;
        },
      ),
      ENCODE_GOAL,
    ),
  );

  const textDecoder = new TextDecoder();
  const splitAndParse = (text: string): void => {
    for (const line of text.split('\n')) {
      if (line.length > 0) {
        JSON.parse(line);
        sink++;
      }
    }
  };

  results.push(
    ...figures(
      'decode: StreamDecoder, 64 KiB byte chunks',
      'TextDecoder + split + JSON.parse each',
      load,
      await compare(
        () => {
          for (const chunk of load.chunks) decoder.write(chunk);
        },
        () => splitAndParse(textDecoder.decode(load.bytes)),
      ),
      DECODE_GOAL,
    ),
  );

  results.push(
    ...figures(
      'decode: parseNDJSON(text)',
      'split + JSON.parse each',
      load,
      await compare(
        () => {
          sink += parseNDJSON(load.text).length;
        },
        () => splitAndParse(load.text),
      ),
      DECODE_GOAL,
    ),
  );

  results.push(
    ...figures(
      'decode: for await readNDJSON(ReadableStream), 64 KiB chunks',
      'TextDecoder + split + JSON.parse each',
      load,
      await compare(
        async () => {
          for await (const _message of readNDJSON(streamOfChunks(load.chunks))) sink++;
        },
        () => splitAndParse(textDecoder.decode(load.bytes)),
      ),
      undefined,
    ),
  );

  results.push(
    ...figures(
      'decode: createNDJSONDecoderStream read to the end, 64 KiB chunks',
      'TextDecoder + split + JSON.parse each',
      load,
      await compare(
        async () => {
          const reader = streamOfChunks(load.chunks).pipeThrough(createNDJSONDecoderStream()).getReader();
          for (let result = await reader.read(); !result.done; result = await reader.read()) sink++;
        },
        () => splitAndParse(textDecoder.decode(load.bytes)),
      ),
      undefined,
    ),
  );

  return results;
}

function streamOfChunks(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

const benchmark: Benchmark = {
  title: 'NDJSON framing throughput',
  async run() {
    const results: BenchFigure[] = [];
    for (const load of [workload('200 B', smallEvent), workload('20 KB', largeEvent)]) {
      results.push(...(await runWorkload(load)));
    }
    if (sink === -1) console.log(sink);
    return results;
  },
};

export default benchmark;
