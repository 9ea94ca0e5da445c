import { EnclaveError } from '@enclave-vm/types';

/** A `tools/call` result, as the MCP SDK's client returns it. */
export interface McpCallResult {
  content?: unknown;
  structuredContent?: unknown;
  isError?: unknown;
  toolResult?: unknown;
}

/**
 * What code gets back from an MCP tool call:
 * - `isError: true`: the call throws `TOOL_ERROR` with the tool's text as the message;
 * - structured content: that data;
 * - only text content: the text (several text blocks joined by a line break; none: `null`);
 * - other content (images, audio, resources, or text mixed with them): the content blocks as MCP
 *   gives them (`[{ type: 'image', data, mimeType }, …]`).
 */
export function toolResultOf(result: McpCallResult, toolName: string): unknown {
  const content = Array.isArray(result.content) ? (result.content as unknown[]) : [];
  if (result.isError === true) {
    const text = textOf(content);
    throw new EnclaveError(
      'TOOL_ERROR',
      text === undefined || text === '' ? `Tool ${toolName} failed` : text,
      {
        ...(result.structuredContent === undefined ? {} : { details: result.structuredContent }),
      },
    );
  }
  if (result.structuredContent !== undefined) return result.structuredContent;
  // Servers speaking the protocol's first version answer with `toolResult`.
  if (result.content === undefined && result.toolResult !== undefined) return result.toolResult;
  if (content.length === 0) return null;
  const text = textOf(content);
  return text === undefined ? content : text;
}

/** The text of content blocks that are all text, or `undefined` when any is something else. */
function textOf(content: readonly unknown[]): string | undefined {
  const texts: string[] = [];
  for (const block of content) {
    if (typeof block !== 'object' || block === null) return undefined;
    const { type, text } = block as { type?: unknown; text?: unknown };
    if (type !== 'text' || typeof text !== 'string') return undefined;
    texts.push(text);
  }
  return texts.join('\n');
}
