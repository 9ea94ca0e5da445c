/**
 * Approval gates, beside a baseline of the same run: the round trip of an approval over HTTP, from
 * the `approval_required` event reaching the client to the code running again (its next
 * `console.log` reaching the client), ÷ the round trip of a client tool, from its `tool_call`
 * reaching the client to the code running again. Both through `EnclaveClient` (HTTP transport) and
 * a real broker (embedded sandbox) on loopback: `onApproval: () => true` answers the approval with
 * `POST /sessions/:id/approvals` and the broker then runs its tool; the client tool answers with
 * `POST /sessions/:id/tool-result`. Goal ≤ 1.2×.
 *
 * A script makes 20 sequential calls, each followed by a `console.log`; the median call of a round
 * is its figure. The machine is shared: rounds alternate between figure and baseline and the best
 * round of each is kept, since other work can only slow a round down.
 */
import { performance } from 'node:perf_hooks';
import { createBroker } from '../packages/broker/src/index.js';
import type { StreamEvent } from '../packages/client/src/index.js';
import { EnclaveClient } from '../packages/client/src/index.js';
import { percentile } from './lib/measure.js';
import type { BenchFigure, Benchmark } from './lib/report.js';

const ROUNDS = 12;
const CALLS_PER_SCRIPT = 20;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** The script: each call, then a line that shows the code ran on. */
function scriptCalling(tool: string): string {
  return `for (let i = 0; i < ${CALLS_PER_SCRIPT}; i++) { await tools.${tool}({ i }); console.log(String(i)); } return 1;`;
}

/**
 * Runs one session and returns the round trip of each call in ms: from the event of type `start`
 * (with the call's `{ i }`) to the `stdout` line `i`.
 */
async function roundTrips(
  run: (onEvent: (event: StreamEvent) => void) => Promise<{ ok: boolean; error?: unknown }>,
  start: 'approval_required' | 'tool_call',
): Promise<number[]> {
  const started = new Map<number, number>();
  const trips: number[] = [];
  const outcome = await run((event) => {
    const now = performance.now();
    if (event.type === start) {
      const args = event.payload.args as { i: number };
      started.set(args.i, now);
    } else if (event.type === 'stdout') {
      const from = started.get(Number(event.payload.chunk));
      if (from !== undefined) trips.push(now - from);
    }
  });
  if (!outcome.ok) throw new Error(`the session failed: ${JSON.stringify(outcome.error)}`);
  if (trips.length !== CALLS_PER_SCRIPT)
    throw new Error(`expected ${CALLS_PER_SCRIPT} round trips, got ${trips.length}`);
  return trips;
}

interface Figures {
  approval: number;
  clientTool: number;
  approvalP90: number;
  clientToolP90: number;
}

async function measure(): Promise<Figures> {
  const broker = createBroker({ mode: 'embedded', poolSize: 1, logger: quiet });
  broker.tools.register({
    name: 'approvedStep',
    description: 'Returns its i, once approved',
    parameters: { i: { type: 'number', description: 'The step', required: true } },
    requiresApproval: true,
    handler: async (args) => args.i,
  });
  await broker.listen(0, '127.0.0.1');
  const client = new EnclaveClient({ brokerUrl: `http://127.0.0.1:${broker.address().port}` });
  const approvalRound = () =>
    roundTrips(
      (onEvent) => client.execute(scriptCalling('approvedStep'), { onEvent, onApproval: () => true }).result,
      'approval_required',
    );
  const clientToolRound = () =>
    roundTrips(
      (onEvent) =>
        client.execute(scriptCalling('clientStep'), {
          onEvent,
          tools: { clientStep: (args) => (args as { i: number }).i },
        }).result,
      'tool_call',
    );
  const best: Figures = {
    approval: Number.POSITIVE_INFINITY,
    clientTool: Number.POSITIVE_INFINITY,
    approvalP90: Number.POSITIVE_INFINITY,
    clientToolP90: Number.POSITIVE_INFINITY,
  };
  try {
    // Warm-up: the sandbox thread, the JIT of both paths, the HTTP connections.
    await approvalRound();
    await clientToolRound();
    for (let round = 0; round < ROUNDS; round++) {
      const approvals = await approvalRound();
      const clientTools = await clientToolRound();
      best.approval = Math.min(best.approval, percentile(approvals, 50));
      best.approvalP90 = Math.min(best.approvalP90, percentile(approvals, 90));
      best.clientTool = Math.min(best.clientTool, percentile(clientTools, 50));
      best.clientToolP90 = Math.min(best.clientToolP90, percentile(clientTools, 90));
    }
  } finally {
    await broker.close();
  }
  return best;
}

const benchmark: Benchmark = {
  title: 'Approval gates: round trip over HTTP, event to resumed code',
  async run(): Promise<BenchFigure[]> {
    const figures = await measure();
    return [
      {
        name: 'approval: approval_required → onApproval → POST /approvals → tool → code resumed (p50)',
        value: figures.approval,
        unit: 'ms',
        baselineName: 'client tool: tool_call → handler → POST /tool-result → code resumed (p50)',
        baseline: figures.clientTool,
        higherIsBetter: false,
        goal: { ratio: 1.2 },
      },
      {
        name: 'approval round trip (p90)',
        value: figures.approvalP90,
        unit: 'ms',
        baselineName: 'client-tool round trip (p90)',
        baseline: figures.clientToolP90,
        higherIsBetter: false,
      },
    ];
  },
};

export default benchmark;
