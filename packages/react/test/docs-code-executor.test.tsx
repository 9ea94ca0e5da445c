// biome-ignore-all lint/a11y/useButtonType: the documented code below is kept exactly as written.
// The documented React example (docs/react.md), rendered as written against a real broker.
import { fireEvent, render, screen } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnclaveProvider, useEnclaveSession } from '../src/index.js';
import { startTestBroker, type TestBroker } from './test-broker.js';

let server: TestBroker;
/** Where the example says `http://localhost:3000`: the test broker's URL, the only change to it. */
let brokerUrl = '';

beforeAll(async () => {
  server = await startTestBroker();
  brokerUrl = server.url;
});
afterAll(() => server.close());

// ---- The documented example, unchanged but for brokerUrl. ----
function App() {
  return (
    <EnclaveProvider brokerUrl={brokerUrl}>
      <CodeExecutor />
    </EnclaveProvider>
  );
}

function CodeExecutor() {
  const { execute, state, stdout, result, error } = useEnclaveSession();

  const runCode = async () => {
    await execute(`
      console.log('Hello from the sandbox!');
      return 42;
    `);
  };

  return (
    <div>
      <button onClick={runCode} disabled={state === 'running'}>
        {state === 'running' ? 'Running...' : 'Run Code'}
      </button>
      <pre>{stdout}</pre>
      {result && <div>Result: {JSON.stringify(result)}</div>}
      {error && <div>Error: {error.message}</div>}
    </div>
  );
}
// ---- End of the documented code. ----

describe('the documented App and CodeExecutor', () => {
  it('runs the code on a click and shows its output and result', async () => {
    render(<App />);
    const button = screen.getByRole('button', { name: 'Run Code' });
    expect(screen.queryByText(/Result:/)).toBeNull();

    fireEvent.click(button);
    expect(screen.getByRole('button', { name: 'Running...' }).hasAttribute('disabled')).toBe(true);

    expect((await screen.findByText('Result: 42')).textContent).toBe('Result: 42');
    expect(screen.getByText('Hello from the sandbox!').tagName).toBe('PRE');
    const finished = screen.getByRole('button', { name: 'Run Code' });
    expect(finished.hasAttribute('disabled')).toBe(false);
    expect(screen.queryByText(/Error:/)).toBeNull();

    // A second click starts a fresh run: the output is not appended to the first one.
    fireEvent.click(finished);
    await screen.findByRole('button', { name: 'Running...' });
    await screen.findByRole('button', { name: 'Run Code' });
    expect(screen.getByText('Hello from the sandbox!').textContent).toBe('Hello from the sandbox!\n');
    expect(screen.getByText('Result: 42')).toBeTruthy();
  });
});
