import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type PlaygroundServer, startPlayground } from '../server.mjs';
import { type BuiltPage, buildPage, PLAYGROUND_DIRECTORY } from './build-page.js';
import { launchChromium } from './launch-chromium.js';

/** Where the screenshot goes: `test-output/` at the repository root (git-ignored). */
const SCREENSHOT_PATH = join(PLAYGROUND_DIRECTORY, '..', '..', 'test-output', 'playground.png');
/** The catalog view after an inserted call ran. */
const CATALOG_SCREENSHOT_PATH = join(
  PLAYGROUND_DIRECTORY,
  '..',
  '..',
  'test-output',
  'playground-catalog.png',
);
/** The declarations view. */
const DECLARATIONS_SCREENSHOT_PATH = join(
  PLAYGROUND_DIRECTORY,
  '..',
  '..',
  'test-output',
  'playground-declarations.png',
);
/** The page while a call waits for its approval. */
const APPROVAL_SCREENSHOT_PATH = join(
  PLAYGROUND_DIRECTORY,
  '..',
  '..',
  'test-output',
  'playground-approval.png',
);
/** The page while the code waits for the Yes/No answer. */
const QUESTION_SCREENSHOT_PATH = join(
  PLAYGROUND_DIRECTORY,
  '..',
  '..',
  'test-output',
  'playground-confirm.png',
);

let built: BuiltPage | undefined;
let playground: PlaygroundServer | undefined;
let browser: Browser | undefined;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  built = await buildPage();
  playground = await startPlayground({
    port: 0,
    pageDirectory: built.directory,
    brokerOptions: { poolSize: 1 },
    // The custom tool of docs/getting-started.md, registered the way it shows.
    configureBroker: (broker) => {
      broker.tool('weather', {
        description: 'Today’s weather in a city (made up)',
        argsSchema: z.object({ city: z.string() }),
        handler: async ({ city }) => ({ city, forecast: 'sunny', celsius: 21 }),
      });
    },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await playground?.close();
  await built?.remove();
});

beforeEach(async () => {
  if (browser === undefined || playground === undefined) throw new Error('the set-up did not finish');
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(20_000);
  pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`console.error: ${message.text()}`);
  });
  await page.goto(playground.url);
});

afterEach(async () => {
  await page.close();
  expect(pageErrors).toEqual([]);
});

/** Waits until the element of `testId` contains `text`, then returns its whole text. */
async function textOnceShown(testId: string, text: string): Promise<string> {
  const locator = page.getByTestId(testId).filter({ hasText: text });
  await locator.waitFor();
  return (await locator.textContent()) ?? '';
}

/** The tool call card of `toolName`, once it has `status`. */
async function toolCallCard(toolName: string, status: 'pending' | 'completed' | 'error') {
  const card = page
    .locator(`[data-testid="tool-call"][data-status="${status}"]`)
    .filter({ hasText: toolName });
  await card.waitFor();
  return card;
}

describe('the playground page in Chromium', () => {
  it('runs typed code: stdout streams in, the tool call shows its arguments and result, then the result and stats', async () => {
    expect(await page.title()).toBe('EnclaveJS playground');
    const editor = page.getByRole('textbox', { name: 'Code' });

    // Tab indents inside the editor instead of leaving it.
    await editor.fill('return 1;');
    await editor.press('Home');
    await editor.press('Tab');
    expect(await editor.inputValue()).toBe('  return 1;');

    await editor.fill(
      [
        `console.log('typed in the browser');`,
        `const users = await callTool('users:list', { limit: 2 });`,
        `console.warn('found', users.length, 'users');`,
        `return users.map((user) => user.name);`,
      ].join('\n'),
    );
    await page.getByRole('button', { name: 'Run', exact: true }).click();

    const output = await textOnceShown('output', 'found 2 users');
    expect(output).toContain('typed in the browser\n');
    expect(output).toContain('warnfound 2 users');
    const card = await toolCallCard('users:list', 'completed');
    const cardText = await card.textContent();
    expect(cardText).toContain('broker');
    expect(cardText).toContain('Arguments{\n  "limit": 2\n}');
    expect(cardText).toContain('"name": "Alice"');
    expect(cardText).toContain('"name": "Bob"');
    expect(cardText).not.toContain('Carol');

    expect(await textOnceShown('result', 'Alice')).toBe('[\n  "Alice",\n  "Bob"\n]');
    const stats = await page.getByTestId('stats').textContent();
    expect(stats).toMatch(/Duration[\d.]+ m?s/);
    expect(stats).toContain('Tool calls1');
    expect(stats).toMatch(/Stdout\d+ bytes/);
    expect(await page.locator('.header-status .badge').textContent()).toBe('completed');
  });

  it('answers the code’s confirm from the page, and shows every tool call with its result', async ({
    annotate,
  }) => {
    await page.getByRole('button', { name: 'Ask the page' }).click();
    expect(await page.getByRole('textbox', { name: 'Code' }).inputValue()).toContain(
      "tools.confirm({ question: 'Delete the 3 temporary files?' })",
    );
    await page.getByRole('button', { name: 'Run', exact: true }).click();

    const question = page.getByRole('alertdialog', { name: 'The code asks' });
    await question.waitFor();
    expect(await question.textContent()).toContain('Delete the 3 temporary files?');
    await toolCallCard('confirm', 'pending');
    // browserInfo is a page tool too, answered without asking.
    const browserInfoCard = await toolCallCard('browserInfo', 'completed');
    expect(await browserInfoCard.textContent()).toContain('"timeZone"');
    expect(await page.locator('.header-status .badge').textContent()).toBe('running');
    await mkdir(join(SCREENSHOT_PATH, '..'), { recursive: true });
    await page.screenshot({ path: QUESTION_SCREENSHOT_PATH, fullPage: true });

    await question.getByRole('button', { name: 'Yes' }).click();
    expect(await textOnceShown('result', 'deleted')).toBe('{\n  "deleted": 3\n}');
    expect(await page.getByTestId('output').textContent()).toContain('Deleting them.');
    expect(await question.count()).toBe(0);
    const confirmCard = await toolCallCard('confirm', 'completed');
    expect(await confirmCard.textContent()).toContain('Resulttrue');
    expect(await confirmCard.textContent()).toContain('"question": "Delete the 3 temporary files?"');
    expect(await page.getByTestId('stats').textContent()).toContain('Tool calls2');

    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
    console.log(
      `Playground screenshots: ${SCREENSHOT_PATH} (after the run), ${QUESTION_SCREENSHOT_PATH} (asking)`,
    );
    await annotate('Screenshot of the playground after a run', {
      path: SCREENSHOT_PATH,
      contentType: 'image/png',
    });
  });

  it('shows Approve and Deny on a call that waits for approval; the code goes on with the decision', async ({
    annotate,
  }) => {
    await page.getByRole('button', { name: 'An approval' }).click();
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const approval = page.getByRole('alertdialog', { name: 'Approval needed' });
    await approval.waitFor();
    const waiting = await toolCallCard('users:delete', 'pending');
    expect(await waiting.textContent()).toContain('Arguments{\n  "id": "2"\n}');
    expect(await approval.textContent()).toContain('This call waits for your approval');
    expect(await page.locator('.header-status .badge').textContent()).toBe('running');
    // Nothing ran yet: the code is still before its next line.
    expect(await page.getByTestId('output').textContent()).not.toContain('Approved');
    await mkdir(join(APPROVAL_SCREENSHOT_PATH, '..'), { recursive: true });
    await page.screenshot({ path: APPROVAL_SCREENSHOT_PATH, fullPage: true });

    await approval.getByRole('button', { name: 'Approve' }).click();
    expect(await textOnceShown('result', 'deleted')).toBe('{\n  "deleted": "Bob"\n}');
    expect(await page.getByTestId('output').textContent()).toContain('Approved: Bob is gone');
    const approved = await toolCallCard('users:delete', 'completed');
    expect(await approved.getByTestId('approval').textContent()).toBe('Approvalapproved');
    expect(await approval.count()).toBe(0);

    // The same code again, denied this time with a reason: the call throws inside the code.
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await approval.waitFor();
    await approval.getByRole('textbox', { name: 'Reason' }).fill('Bob is still on the team');
    await approval.getByRole('button', { name: 'Deny' }).click();
    expect(await textOnceShown('result', 'kept')).toBe(
      '{\n  "kept": "Bob",\n  "because": "APPROVAL_DENIED"\n}',
    );
    expect(await page.getByTestId('output').textContent()).toContain(
      'APPROVAL_DENIED The call of tool users:delete was denied: Bob is still on the team',
    );
    const denied = await toolCallCard('users:delete', 'error');
    expect(await denied.getByTestId('approval').textContent()).toBe('ApprovaldeniedBob is still on the team');
    expect(await denied.textContent()).toContain('APPROVAL_DENIED: The call of tool users:delete was denied');
    await annotate('Screenshot of a call waiting for approval', {
      path: APPROVAL_SCREENSHOT_PATH,
      contentType: 'image/png',
    });
  });

  it('shows a thrown error, a cancel and a timeout with their codes', async () => {
    await page.getByRole('button', { name: 'An error' }).click();
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const error = await textOnceShown('error', 'User 42 does not exist');
    expect(error).toContain('EXECUTION_ERROR');

    await page.getByRole('button', { name: 'A timeout' }).click();
    const timeLimit = page.getByLabel('Time limit');
    expect(await timeLimit.inputValue()).toBe('2');
    await timeLimit.fill('30');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.header-status .badge', { hasText: 'running' }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await textOnceShown('error', 'CANCELLED')).toContain('CANCELLED');

    await timeLimit.fill('2');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    expect(await textOnceShown('error', 'TIMEOUT')).toMatch(/EXECUTION_TIMEOUT/);
  });

  it('calls a custom broker tool registered with configureBroker, as docs/getting-started.md does', async () => {
    await page
      .getByRole('textbox', { name: 'Code' })
      .fill(
        `const weather = await tools.weather({ city: 'Paris' });\nconsole.log(weather.city, 'is', weather.forecast);\nreturn weather;`,
      );
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    expect(await textOnceShown('output', 'Paris is sunny')).toBe('Paris is sunny\n');
    const card = await toolCallCard('weather', 'completed');
    expect(await card.textContent()).toContain('Arguments{\n  "city": "Paris"\n}');
    expect(await textOnceShown('result', 'celsius')).toBe(
      '{\n  "city": "Paris",\n  "forecast": "sunny",\n  "celsius": 21\n}',
    );
  });

  it('lists the catalog’s actions with their argument schemas; a click inserts a call that runs', async ({
    annotate,
  }) => {
    const catalog = page.getByTestId('catalog');
    const actions = catalog.getByTestId('catalog-action');
    await actions.first().waitFor();
    expect(await actions.count()).toBe(3);
    expect(await catalog.getByTestId('catalog-service').textContent()).toBe('notes · 3 actions · ok');
    const create = actions.filter({ hasText: 'notes_createNote' });
    expect(await create.textContent()).toContain('Create a note');
    await create.getByText('Arguments').click();
    const schema = (await create.locator('pre').textContent()) ?? '';
    expect(JSON.parse(schema)).toMatchObject({
      type: 'object',
      required: ['body'],
      properties: { body: { required: ['title'], properties: { title: { type: 'string', minLength: 1 } } } },
    });

    const editor = page.getByRole('textbox', { name: 'Code' });
    await editor.fill('');
    await create.getByRole('button', { name: 'notes_createNote' }).click();
    expect(await editor.inputValue()).toBe(
      "const result = await tools.notes_createNote({ body: { title: '' } });\n",
    );
    // The caret is after the inserted line: the next click adds the next line there.
    await actions
      .filter({ hasText: 'notes_listNotes' })
      .getByRole('button', { name: 'notes_listNotes' })
      .click();
    expect(await editor.inputValue()).toBe(
      "const result = await tools.notes_createNote({ body: { title: '' } });\n" +
        'const result = await tools.notes_listNotes({});\n',
    );

    await editor.fill(
      [
        "const created = await tools.notes_createNote({ body: { title: 'From the catalog', tags: ['demo'] } });",
        "const found = await tools.notes_listNotes({ tag: 'demo' });",
        'return found.map((note) => note.title);',
      ].join('\n'),
    );
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    expect(await textOnceShown('result', 'From the catalog')).toBe('[\n  "From the catalog"\n]');
    const card = await toolCallCard('notes_createNote', 'completed');
    expect(await card.textContent()).toContain('"id": "4"');

    // Invalid arguments are refused before anything is sent.
    await editor.fill("return await tools.notes_createNote({ body: { title: '' } });");
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    expect(await textOnceShown('error', 'TOOL_VALIDATION_ERROR')).toContain(
      'body.title: must NOT have fewer than 1 characters',
    );

    await mkdir(join(CATALOG_SCREENSHOT_PATH, '..'), { recursive: true });
    await page.screenshot({ path: CATALOG_SCREENSHOT_PATH, fullPage: true });
    await annotate('Screenshot of the catalog view', {
      path: CATALOG_SCREENSHOT_PATH,
      contentType: 'image/png',
    });
  });

  it('shows the TypeScript declarations of every tool, and reloads them on request', async ({ annotate }) => {
    if (playground === undefined) throw new Error('the set-up did not finish');
    const text = page.getByTestId('declarations-text');
    await text.waitFor();
    const declarations = (await text.textContent()) ?? '';
    expect(declarations).toBe(playground.broker.tools.getTypeDeclarations());
    expect(declarations).toContain('declare const tools: {');
    expect(declarations).toContain(
      '  /** Get the current time, optionally in an IANA time zone */\n  getCurrentTime(args?: {\n    timezone?: string;\n  }): Promise<unknown>;',
    );
    expect(declarations).toContain('  "users:list"(args?: {');
    expect(declarations).toContain('  weather(args: {\n    city: string;\n  }): Promise<unknown>;');
    expect(declarations).toMatch(/ {2}notes_createNote\(args: \{\n {4}body: \{/);
    expect(declarations).toContain('declare function callTool<Name extends keyof typeof tools>(');

    playground.broker.tool('translate', {
      description: 'Translates a text (made up)',
      argsSchema: z.object({ text: z.string(), to: z.enum(['fr', 'de']) }),
      handler: async ({ text, to }) => `${to}:${text}`,
    });
    try {
      const version = await text.getAttribute('data-version');
      await page.getByTestId('declarations').getByRole('button', { name: 'Refresh' }).click();
      await page.locator(`[data-testid="declarations-text"]:not([data-version="${version}"])`).waitFor();
      expect(await text.textContent()).toContain(
        '  /** Translates a text (made up) */\n  translate(args: {\n    text: string;\n    to: "fr" | "de";\n  }): Promise<unknown>;',
      );
    } finally {
      playground.broker.tools.unregister('translate');
    }
    await mkdir(join(DECLARATIONS_SCREENSHOT_PATH, '..'), { recursive: true });
    await page.getByTestId('declarations').screenshot({ path: DECLARATIONS_SCREENSHOT_PATH });
    await annotate('Screenshot of the declarations view', {
      path: DECLARATIONS_SCREENSHOT_PATH,
      contentType: 'image/png',
    });
  });
});
