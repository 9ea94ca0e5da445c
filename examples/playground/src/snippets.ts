/** An example to start from, picked above the editor. */
export interface Snippet {
  /** Stable identifier, also the button's key. */
  id: string;
  /** The button's label. */
  title: string;
  /** One line on what it shows. */
  description: string;
  /** The code put into the editor. */
  code: string;
  /** Time limit, in seconds, set along with the code. */
  timeLimitSeconds: number;
}

/** Time limit of the examples that do not need another one, in seconds. */
export const DEFAULT_TIME_LIMIT_SECONDS = 10;

/** The examples, in the order they are offered. */
export const SNIPPETS: readonly Snippet[] = [
  {
    id: 'hello',
    title: 'Hello world',
    description: 'Print a line and return a value.',
    timeLimitSeconds: DEFAULT_TIME_LIMIT_SECONDS,
    code: `console.log('Hello from the sandbox!');
console.info('console.info, warn and error arrive as log events');

const numbers = [1, 2, 3, 4, 5];
return numbers.reduce((sum, n) => sum + n, 0);
`,
  },
  {
    id: 'broker-tools',
    title: 'Broker tools',
    description: 'Call tools that run on the server: getCurrentTime and users:list.',
    timeLimitSeconds: DEFAULT_TIME_LIMIT_SECONDS,
    code: `const time = await tools.getCurrentTime({ timezone: 'Europe/Paris' });
console.log('In Paris it is', time);

const users = await callTool('users:list', { limit: 2 });
for (const user of users) console.log('-', user.name);

return { time, users };
`,
  },
  {
    id: 'client-confirm',
    title: 'Ask the page',
    description: 'Client tools run in this page: browserInfo answers at once, confirm asks you.',
    timeLimitSeconds: 60,
    code: `const browser = await tools.browserInfo({});
console.log('Your time zone is', browser.timeZone);

const ok = await tools.confirm({ question: 'Delete the 3 temporary files?' });
console.log(ok ? 'Deleting them.' : 'Keeping everything.');

return { deleted: ok ? 3 : 0 };
`,
  },
  {
    id: 'parallel',
    title: 'Promise.all',
    description: 'Several tool calls at once: they run concurrently.',
    timeLimitSeconds: DEFAULT_TIME_LIMIT_SECONDS,
    code: `const zones = ['America/New_York', 'Europe/London', 'Asia/Tokyo'];
const [users, ...times] = await Promise.all([
  tools['users:list']({ limit: 3 }),
  ...zones.map((timezone) => tools.getCurrentTime({ timezone })),
]);

zones.forEach((zone, index) => console.log(zone.padEnd(18), times[index]));
return { users: users.length, zones: zones.length };
`,
  },
  {
    id: 'approval',
    title: 'An approval',
    description: 'users:delete waits until you approve or deny the call on its card.',
    timeLimitSeconds: 60,
    code: `const users = await callTool('users:list', { limit: 3 });
const bob = users.find((user) => user.name === 'Bob');
console.log('Asking to delete', bob.name);

try {
  const outcome = await tools['users:delete']({ id: bob.id });
  console.log('Approved:', outcome.deleted, 'is gone');
  return outcome;
} catch (error) {
  console.warn(error.code, error.message);
  return { kept: bob.name, because: error.code };
}
`,
  },
  {
    id: 'error',
    title: 'An error',
    description: 'An uncaught error ends the run with EXECUTION_ERROR.',
    timeLimitSeconds: DEFAULT_TIME_LIMIT_SECONDS,
    code: `console.log('Looking for user 42…');
const users = await callTool('users:list', { limit: 3 });
const user = users.find((candidate) => candidate.id === '42');
if (!user) throw new Error('User 42 does not exist');
return user;
`,
  },
  {
    id: 'timeout',
    title: 'A timeout',
    description: 'A loop that never ends is stopped at the time limit (2 s here).',
    timeLimitSeconds: 2,
    code: `console.log('Spinning forever…');
let turns = 0;
while (true) turns++;
`,
  },
];
