import { describe, expect, it } from 'vitest';
import { parseCliArguments } from '../../src/worker-end/cli-arguments.js';

describe('parseCliArguments', () => {
  it('defaults to 127.0.0.1:3001 without a token', () => {
    expect(parseCliArguments([])).toEqual({
      kind: 'run',
      options: { port: 3001, host: '127.0.0.1' },
      verbose: false,
    });
  });

  it('reads every option', () => {
    const command = parseCliArguments([
      '--port',
      '0',
      '--host',
      '0.0.0.0',
      '--max-sessions',
      '12',
      '--pool-size=3',
      '--park-after-ms',
      '250',
      '--auth-token',
      'tok',
      '--verbose',
    ]);
    expect(command).toEqual({
      kind: 'run',
      options: { port: 0, host: '0.0.0.0', maxSessions: 12, poolSize: 3, parkAfterMs: 250, authToken: 'tok' },
      verbose: true,
    });
  });

  it('turns parking off with --park-after-ms never', () => {
    expect(parseCliArguments(['--park-after-ms', 'never'])).toMatchObject({
      options: { parkAfterMs: Number.POSITIVE_INFINITY },
    });
  });

  it('takes the token from ENCLAVE_RUNTIME_TOKEN unless --auth-token is given', () => {
    expect(parseCliArguments([], { ENCLAVE_RUNTIME_TOKEN: 'from-env' })).toMatchObject({
      options: { authToken: 'from-env' },
    });
    expect(parseCliArguments(['--auth-token', 'flag'], { ENCLAVE_RUNTIME_TOKEN: 'from-env' })).toMatchObject({
      options: { authToken: 'flag' },
    });
    expect(parseCliArguments([], { ENCLAVE_RUNTIME_TOKEN: '' })).toEqual({
      kind: 'run',
      options: { port: 3001, host: '127.0.0.1' },
      verbose: false,
    });
  });

  it('asks for help with --help or -h', () => {
    expect(parseCliArguments(['--help'])).toEqual({ kind: 'help' });
    expect(parseCliArguments(['-h', '--port', 'nonsense'])).toEqual({ kind: 'help' });
  });

  it('explains bad arguments', () => {
    const cases: [string[], RegExp][] = [
      [['--port', 'abc'], /--port must be a whole number/],
      [['--port', '70000'], /--port must be from 0 to 65535/],
      [['--max-sessions', '0'], /--max-sessions must be from 1/],
      [['--pool-size', '-1'], /pool-size/],
      [['--frobnicate'], /frobnicate/],
      [['extra'], /extra/],
      [['--port'], /port/],
      [['--auth-token', ''], /--auth-token must not be empty/],
      [['--park-after-ms', 'soon'], /--park-after-ms must be a whole number/],
      [['--park-after-ms', '-5'], /park-after-ms/],
    ];
    for (const [argv, message] of cases) {
      const command = parseCliArguments(argv);
      expect(command.kind, argv.join(' ')).toBe('error');
      if (command.kind === 'error') expect(command.message).toMatch(message);
    }
  });
});
