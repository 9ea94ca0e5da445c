// @ts-check
// An MCP server written with the official SDK, spoken to over stdio: a small notebook. The broker
// of index.ts starts it as a child process (`node notes-server.mjs`); any MCP client could.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

/** @type {{ id: number, text: string, tags: string[] }[]} */
const notes = [{ id: 1, text: 'Buy milk', tags: ['home'] }];
const server = new McpServer({ name: 'notes', version: '1.0.0' });

server.registerTool(
  'add_note',
  {
    description: 'Adds a note and answers its id',
    inputSchema: {
      text: z.string().min(1).describe('What to remember'),
      tags: z.array(z.string()).optional(),
    },
    outputSchema: { id: z.number().int(), count: z.number().int().describe('Notes in the notebook') },
  },
  async ({ text, tags }) => {
    const note = { id: notes.length + 1, text, tags: tags ?? [] };
    notes.push(note);
    const answer = { id: note.id, count: notes.length };
    return { content: [{ type: 'text', text: JSON.stringify(answer) }], structuredContent: answer };
  },
);

server.registerTool(
  'find_notes',
  {
    description: 'Notes whose text contains a word, one per line',
    inputSchema: { word: z.string().describe('Case-insensitive') },
  },
  async ({ word }) => {
    const found = notes.filter((note) => note.text.toLowerCase().includes(word.toLowerCase()));
    return { content: [{ type: 'text', text: found.map((note) => `#${note.id} ${note.text}`).join('\n') }] };
  },
);

server.registerTool(
  'delete_note',
  { description: 'Deletes a note by id', inputSchema: { id: z.number().int() } },
  async ({ id }) => {
    const index = notes.findIndex((note) => note.id === id);
    if (index === -1) return { isError: true, content: [{ type: 'text', text: `No note #${id}` }] };
    notes.splice(index, 1);
    return { content: [{ type: 'text', text: `Deleted #${id}` }] };
  },
);

await server.connect(new StdioServerTransport());
