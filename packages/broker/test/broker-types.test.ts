// Type tests of the broker's generic API: `broker.tool` infers a handler's arguments from its zod
// schema, and `broker.on` types each listener by its event. `pnpm typecheck` fails when an
// inference changes; the runtime assertions check that the typed values are the ones delivered.
import type { RuntimeConnectionCloseInfo } from '@enclave-vm/runtime';
import type { CatalogChange, Emitter, EnclaveError, Unsubscribe } from '@enclave-vm/types';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type {
  ApprovalRequestInfo,
  BrokerEventMap,
  ToolCallInfo,
  ToolCompletionInfo,
} from '../src/broker-events.js';
import type { CatalogChangeListener, CatalogHandler } from '../src/catalog/catalog-handler.js';
import type { EnclaveBroker } from '../src/enclave-broker.js';
import type {
  RuntimeGroup,
  RuntimeGroupEventMap,
  RuntimeWorkerStatus,
} from '../src/runtimes/runtime-group.js';
import type { Session } from '../src/sessions/session.js';
import type { ExecutionContext, ZodToolConfig } from '../src/tools/tool-types.js';
import { collect, eventOf, testBroker } from './broker-helpers.js';

describe('broker.tool with a zod schema', () => {
  it('gives the handler the parsed arguments, typed by the schema', async () => {
    const broker = testBroker();
    const received: unknown[] = [];
    broker.tool('greet', {
      description: 'Greets someone',
      argsSchema: z.object({
        name: z.string(),
        times: z.number().int().default(1),
        loud: z.boolean().optional(),
      }),
      handler: (args, context) => {
        expectTypeOf(args).toEqualTypeOf<{ name: string; times: number; loud?: boolean | undefined }>();
        expectTypeOf(context).toEqualTypeOf<ExecutionContext>();
        received.push(args);
        return `${'hello '.repeat(args.times)}${args.name}`;
      },
    });
    const events = await collect(broker.execute("return await callTool('greet', { name: 'Ada' });"));
    expect(eventOf(events, 'final').payload).toMatchObject({ ok: true, result: 'hello Ada' });
    expect(received).toEqual([{ name: 'Ada', times: 1 }]);
  });

  it('types an approval predicate by the same schema', async () => {
    const broker = testBroker();
    const asked: number[] = [];
    broker.tool('transfer', {
      description: 'Moves money',
      argsSchema: z.object({ amount: z.number() }),
      requiresApproval: (args) => {
        expectTypeOf(args).toEqualTypeOf<{ amount: number }>();
        asked.push(args.amount);
        return args.amount > 100;
      },
      handler: ({ amount }) => {
        expectTypeOf(amount).toBeNumber();
        return amount;
      },
    });
    // @ts-expect-error: `amount` is a number, so a handler taking a string does not fit
    const mismatched: ZodToolConfig<z.ZodObject<{ amount: z.ZodNumber }>>['handler'] = (args: {
      amount: string;
    }) => args.amount;
    expect(mismatched).toBeTypeOf('function');
    const events = await collect(broker.execute("return await callTool('transfer', { amount: 5 });"));
    expect(eventOf(events, 'final').payload).toMatchObject({ ok: true, result: 5 });
    expect(asked).toEqual([5]);
  });
});

describe('broker.on', () => {
  it('types each listener by its event and returns the function that removes it', async () => {
    const broker = testBroker();
    const seen: string[] = [];
    const stopCreated = broker.on('session:created', (session) => {
      expectTypeOf(session).toEqualTypeOf<Session>();
      seen.push('created');
    });
    expectTypeOf(stopCreated).toEqualTypeOf<Unsubscribe>();
    broker.on('session:completed', (session, result) => {
      expectTypeOf(session).toEqualTypeOf<Session>();
      expectTypeOf(result).toBeUnknown();
      seen.push(`completed ${String(result)}`);
    });
    broker.on('session:error', (_session, error) => {
      expectTypeOf(error).toEqualTypeOf<EnclaveError>();
    });
    broker.on('tool:called', (_session, tool, args, call) => {
      expectTypeOf(tool).toBeString();
      expectTypeOf(args).toBeUnknown();
      expectTypeOf(call).toEqualTypeOf<ToolCallInfo>();
    });
    broker.on('tool:completed', (_session, _tool, _result, completion) => {
      expectTypeOf(completion).toEqualTypeOf<ToolCompletionInfo>();
    });
    broker.on('approval:required', (_session, _tool, _args, request) => {
      expectTypeOf(request).toEqualTypeOf<ApprovalRequestInfo>();
    });
    // @ts-expect-error: not an event of the broker
    broker.on('session:started', () => undefined);

    await collect(broker.execute('return 1'));
    stopCreated();
    await collect(broker.execute('return 2'));
    expect(seen).toEqual(['created', 'completed 1', 'completed 2']);
  });
});

describe('the other emitters of the broker package', () => {
  it('types the listeners of the runtime group and the catalog, and returns Unsubscribe', () => {
    expectTypeOf<RuntimeGroup>().toExtend<Emitter<RuntimeGroupEventMap>>();
    expectTypeOf<RuntimeGroup['on']>().returns.toEqualTypeOf<Unsubscribe>();
    expectTypeOf<Parameters<RuntimeGroupEventMap['disconnect']>>().toEqualTypeOf<
      [worker: RuntimeWorkerStatus, info: RuntimeConnectionCloseInfo]
    >();
    expectTypeOf<CatalogHandler>().toExtend<Emitter<{ changed: CatalogChangeListener }>>();
    expectTypeOf<Parameters<CatalogChangeListener>>().toEqualTypeOf<[change: CatalogChange]>();
    expectTypeOf<EnclaveBroker>().toExtend<Emitter<BrokerEventMap>>();
  });
});
