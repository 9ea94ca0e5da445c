import { EnclaveClient } from '@enclave-vm/client';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { type ReactElement, useEffect, useState } from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientToolContext,
  EnclaveProvider,
  type EnclaveSessionValue,
  type SessionState,
  type UseEnclaveSessionOptions,
  useEnclaveClient,
  useEnclaveSession,
} from '../src/index.js';
import { startTestBroker, type TestBroker } from './test-broker.js';

let server: TestBroker;
beforeAll(async () => {
  server = await startTestBroker();
});
afterAll(() => server.close());

/** What a test can reach of the hook from outside the component. */
interface Exposed {
  session?: EnclaveSessionValue;
  states: SessionState[];
}

/** A small UI over the hook: buttons for its actions, and everything it returns on screen. */
function SessionView(props: {
  code: string;
  options?: UseEnclaveSessionOptions;
  exposed?: Exposed;
}): ReactElement {
  const session = useEnclaveSession(props.options);
  const { exposed } = props;
  if (exposed !== undefined) exposed.session = session;
  useEffect(() => {
    exposed?.states.push(session.state);
  }, [exposed, session.state]);
  return (
    <div>
      <button type="button" onClick={() => void session.execute(props.code)}>
        Run
      </button>
      <button type="button" onClick={() => void session.cancel()}>
        Cancel
      </button>
      <button type="button" onClick={session.reset}>
        Reset
      </button>
      <p data-testid="state">{session.state}</p>
      <pre data-testid="stdout">{session.stdout}</pre>
      <p data-testid="result">{JSON.stringify(session.result)}</p>
      <p data-testid="error">
        {session.error === undefined ? '' : `${session.error.code}: ${session.error.message}`}
      </p>
      <p data-testid="session-id">{session.sessionId}</p>
      <ul>
        {session.toolCalls.map((call) => (
          <li key={call.callId}>
            {`${call.toolName} ${JSON.stringify(call.args)} by ${call.answeredBy}: ${call.status} ${JSON.stringify(call.result)}`}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A client tool that waits until released, or until its call is no longer wanted. */
function holdingTool() {
  const tool = {
    aborted: 0,
    release: (_value: unknown): void => undefined,
    handler: (_args: unknown, context: ClientToolContext): Promise<unknown> => {
      return new Promise((resolve, reject) => {
        tool.release = resolve;
        context.signal.addEventListener('abort', () => {
          tool.aborted++;
          reject(context.signal.reason);
        });
      });
    },
  };
  return tool;
}

/** A page that answers `confirm` with Yes/No buttons and `currentName` from an input. */
function ConfirmApp(): ReactElement {
  const [question, setQuestion] = useState<{ text: string; answer: (yes: boolean) => void }>();
  const [name, setName] = useState('Ada');
  return (
    // A new tools object on every render: the session must still reach the newest handlers.
    <EnclaveProvider
      brokerUrl={server.url}
      tools={{
        confirm: ({ question: asked }: { question: string }) =>
          new Promise<boolean>((resolve) =>
            setQuestion({
              text: asked,
              answer: (yes) => {
                setQuestion(undefined);
                resolve(yes);
              },
            }),
          ),
      }}
    >
      <input aria-label="name" value={name} onChange={(event) => setName(event.target.value)} />
      {question !== undefined && (
        <div role="dialog">
          <p>{question.text}</p>
          <button type="button" onClick={() => question.answer(true)}>
            Yes
          </button>
          <button type="button" onClick={() => question.answer(false)}>
            No
          </button>
        </div>
      )}
      <SessionView
        options={{ tools: { currentName: () => name } }}
        code={`const ok = await tools.confirm({ question: 'Deploy to production?' }); const name = await tools.currentName({}); return { ok, name };`}
      />
    </EnclaveProvider>
  );
}

/** Shows the provider's client and hands it to the test. */
function ClientReader(props: { seen: { client?: EnclaveClient } }): ReactElement {
  const client = useEnclaveClient();
  props.seen.client = client;
  return <p>{client.brokerUrl}</p>;
}

/** Uses the session hook, meant to be rendered without a provider. */
function Lonely(): ReactElement {
  const { state } = useEnclaveSession();
  return <p>{state}</p>;
}

/** Uses the client hook, meant to be rendered without a provider. */
function LonelyClient(): ReactElement {
  return <p>{useEnclaveClient().brokerUrl}</p>;
}

const text = (testId: string): string => screen.getByTestId(testId).textContent ?? '';

describe('useEnclaveSession', () => {
  it('goes idle → running → completed, showing stdout, a broker tool call and the result', async () => {
    const exposed: Exposed = { states: [] };
    const chunks: string[] = [];
    render(
      <EnclaveProvider brokerUrl={server.url}>
        <SessionView
          exposed={exposed}
          options={{ onStdout: (chunk) => chunks.push(chunk) }}
          code={`console.log('one'); const doubled = await tools.double({ value: 21 }); console.log('two'); return { doubled };`}
        />
      </EnclaveProvider>,
    );
    expect(text('state')).toBe('idle');
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect(text('state')).toBe('running');
    await waitFor(() => expect(text('state')).toBe('completed'));

    expect(exposed.states).toEqual(['idle', 'running', 'completed']);
    expect(text('stdout')).toBe('one\ntwo\n');
    expect(chunks).toEqual(['one\n', 'two\n']);
    expect(text('result')).toBe('{"doubled":42}');
    expect(text('error')).toBe('');
    expect(screen.getByRole('listitem').textContent).toBe('double {"value":21} by broker: completed 42');
    expect(text('session-id')).toMatch(/^ses_/);
    expect(exposed.session?.stats).toMatchObject({ toolCalls: 1, stdoutBytes: 8 });
    expect(exposed.session?.events.at(-1)?.type).toBe('final');
  });

  it('ends in error with the message of a script that throws', async () => {
    const exposed: Exposed = { states: [] };
    render(
      <EnclaveProvider brokerUrl={server.url}>
        <SessionView exposed={exposed} code={`console.log('before'); throw new Error('the disk is full');`} />
      </EnclaveProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(text('state')).toBe('error'));
    expect(exposed.states).toEqual(['idle', 'running', 'error']);
    expect(text('error')).toMatch(/^EXECUTION_ERROR: .*the disk is full/);
    expect(text('stdout')).toBe('before\n');
    expect(text('result')).toBe('');
  });

  it('ends cancelled on cancel, and the waiting client tool hears about it', async () => {
    const hold = holdingTool();
    const exposed: Exposed = { states: [] };
    render(
      <EnclaveProvider brokerUrl={server.url} tools={{ hold: hold.handler }}>
        <SessionView
          exposed={exposed}
          code={`console.log('waiting'); await tools.hold({ for: 'ever' }); return 1;`}
        />
      </EnclaveProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await screen.findByText('hold {"for":"ever"} by client: pending undefined');
    expect(text('stdout')).toBe('waiting\n');

    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(text('state')).toBe('cancelled'));
    expect(exposed.states).toEqual(['idle', 'running', 'cancelled']);
    expect(text('error')).toMatch(/^CANCELLED: /);
    expect(text('result')).toBe('');
    await waitFor(() => expect(hold.aborted).toBe(1));
  });

  it('answers a client-side tool from the page, calling the handlers of the latest render', async () => {
    render(<ConfirmApp />);
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog.textContent).toContain('Deploy to production?');
    expect(
      screen.getByText('confirm {"question":"Deploy to production?"} by client: pending undefined'),
    ).toBeTruthy();

    // The answer is given after the name changed: the hook's tool must see the new name.
    fireEvent.change(screen.getByLabelText('name'), { target: { value: 'Grace' } });
    fireEvent.click(screen.getByRole('button', { name: 'Yes' }));
    await waitFor(() => expect(text('state')).toBe('completed'));
    expect(text('result')).toBe('{"ok":true,"name":"Grace"}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getAllByRole('listitem').map((item) => item.textContent)).toEqual([
      'confirm {"question":"Deploy to production?"} by client: completed true',
      'currentName {} by client: completed "Grace"',
    ]);
  });

  it('reset goes back to idle and forgets the run; during a run it also cancels it', async () => {
    const hold = holdingTool();
    const exposed: Exposed = { states: [] };
    render(
      <EnclaveProvider brokerUrl={server.url} tools={{ hold: hold.handler }}>
        <SessionView exposed={exposed} code={`console.log('hello'); return 7;`} />
      </EnclaveProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(text('state')).toBe('completed'));
    expect(text('result')).toBe('7');

    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(text('state')).toBe('idle');
    expect(text('stdout')).toBe('');
    expect(text('result')).toBe('');
    expect(text('session-id')).toBe('');
    expect(screen.queryByRole('listitem')).toBeNull();

    let held: ReturnType<EnclaveSessionValue['execute']> | undefined;
    act(() => {
      held = exposed.session?.execute(`console.log('held'); await tools.hold({}); return 8;`);
    });
    await screen.findByText('hold {} by client: pending undefined');
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(text('state')).toBe('idle');
    expect(await held).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(hold.aborted).toBe(1);
    // The cancelled run's last events do not bring it back on screen.
    expect(text('state')).toBe('idle');
    expect(text('stdout')).toBe('');
  });

  it('a new execute while one runs cancels the running one; the latest run is shown', async () => {
    const hold = holdingTool();
    const exposed: Exposed = { states: [] };
    render(
      <EnclaveProvider brokerUrl={server.url} tools={{ hold: hold.handler }}>
        <SessionView exposed={exposed} code="" />
      </EnclaveProvider>,
    );
    let first: ReturnType<EnclaveSessionValue['execute']> | undefined;
    act(() => {
      first = exposed.session?.execute(`console.log('first'); await tools.hold({}); return 1;`);
    });
    await screen.findByText('hold {} by client: pending undefined');

    let second: ReturnType<EnclaveSessionValue['execute']> | undefined;
    act(() => {
      second = exposed.session?.execute(`console.log('second'); return 2;`);
    });
    const [firstOutcome, secondOutcome] = await Promise.all([first, second]);
    expect(firstOutcome).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(secondOutcome).toMatchObject({ ok: true, result: 2 });
    await waitFor(() => expect(text('state')).toBe('completed'));
    expect(text('stdout')).toBe('second\n');
    expect(text('result')).toBe('2');
    expect(hold.aborted).toBe(1);
  });

  it('resolves execute with the error when the broker cannot be reached, and shows it', async () => {
    const unreachable = new EnclaveClient({ brokerUrl: 'http://127.0.0.1:9', reconnect: { maxAttempts: 0 } });
    const exposed: Exposed = { states: [] };
    render(
      <EnclaveProvider client={unreachable}>
        <SessionView exposed={exposed} code="return 1" />
      </EnclaveProvider>,
    );
    let outcome: ReturnType<EnclaveSessionValue['execute']> | undefined;
    act(() => {
      outcome = exposed.session?.execute('return 1');
    });
    expect(await outcome).toMatchObject({
      ok: false,
      error: { code: expect.any(String) },
      stats: { toolCalls: 0 },
    });
    await waitFor(() => expect(text('state')).toBe('error'));
    expect(text('error')).not.toBe('');
    // Cancelling a session that never started changes nothing and reports nothing.
    await act(async () => {
      await exposed.session?.cancel();
    });
    expect(text('state')).toBe('error');
  });

  it('leaves a running session alone on unmount, unless cancelOnUnmount is set', async () => {
    const kept = holdingTool();
    const keptView = render(
      <EnclaveProvider brokerUrl={server.url} tools={{ hold: kept.handler }}>
        <SessionView code={`await tools.hold({}); return 'finished';`} />
      </EnclaveProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await screen.findByText('hold {} by client: pending undefined');
    const keptSessionId = text('session-id');
    keptView.unmount();
    kept.release('done');
    await waitFor(async () =>
      expect((await server.broker.getSession(keptSessionId))?.status).toBe('completed'),
    );
    expect(kept.aborted).toBe(0);

    const cancelled = holdingTool();
    const cancelledView = render(
      <EnclaveProvider brokerUrl={server.url} tools={{ hold: cancelled.handler }}>
        <SessionView options={{ cancelOnUnmount: true }} code={`await tools.hold({}); return 'finished';`} />
      </EnclaveProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await screen.findByText('hold {} by client: pending undefined');
    const cancelledSessionId = text('session-id');
    cancelledView.unmount();
    await waitFor(() => expect(cancelled.aborted).toBe(1));
    expect((await server.broker.getSession(cancelledSessionId))?.status).toBe('error');
  });
});

describe('EnclaveProvider and useEnclaveClient', () => {
  it('hands the given client to useEnclaveClient, and sessions run on it', async () => {
    const client = new EnclaveClient({ brokerUrl: server.url });
    const seen: { client?: EnclaveClient } = {};
    render(
      <EnclaveProvider client={client}>
        <ClientReader seen={seen} />
        <SessionView code="return 'on the given client'" />
      </EnclaveProvider>,
    );
    expect(seen.client).toBe(client);
    expect(screen.getByText(server.url)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(text('result')).toBe('"on the given client"'));
  });

  it('creates its client from brokerUrl with the given clientOptions', async () => {
    const requested: string[] = [];
    render(
      <EnclaveProvider
        brokerUrl={server.url}
        clientOptions={{
          fetch: (input, init) => {
            requested.push(`${init?.method ?? 'GET'} ${new URL(input).pathname}`);
            return fetch(input, init);
          },
        }}
      >
        <SessionView code="return 'through my fetch'" />
      </EnclaveProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(text('result')).toBe('"through my fetch"'));
    expect(requested).toContain('POST /execute');
  });

  it('tells how to fix a hook used outside of a provider', () => {
    expect(() => render(<Lonely />)).toThrow(
      /useEnclaveSession\(\) was called outside of <EnclaveProvider>\. Render the component inside one, e\.g\. <EnclaveProvider brokerUrl=/,
    );
    expect(() => render(<LonelyClient />)).toThrow(
      /useEnclaveClient\(\) was called outside of <EnclaveProvider>/,
    );
  });

  it('tells how to fix a provider without a broker', () => {
    const props = {} as { brokerUrl: string };
    expect(() => render(<EnclaveProvider {...props} />)).toThrow(
      /needs the broker to talk to: pass brokerUrl=/,
    );
  });
});
