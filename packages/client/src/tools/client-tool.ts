/** What a client tool handler learns about the call it answers. */
export interface ClientToolContext {
  /** The session whose code made the call. */
  sessionId: string;
  /** The id of this call, unique within the session. */
  callId: string;
  /** The tool name as the code spelled it. */
  toolName: string;
  /**
   * Aborted when the answer is no longer wanted: the broker applied another result (e.g. the tool
   * timed out), the session ended or was cancelled.
   */
  signal: AbortSignal;
}

/**
 * A tool the client answers. It receives the call's arguments (JSON, as the code passed them) and
 * returns a JSON-serializable result, or a promise of one; a thrown error is sent back as
 * `{ message, code }` (its `code` when it has a string one, otherwise `TOOL_ERROR`) and thrown inside
 * the code.
 *
 * The method-shaped type lets a handler declare the arguments it expects
 * (`async ({ question }: { question: string }) => …`) without a cast.
 *
 * @example
 * const askUser: ClientToolHandler = async ({ question }: { question: string }) => window.prompt(question);
 */
export type ClientToolHandler<Args = unknown> = {
  handle(args: Args, context: ClientToolContext): unknown;
}['handle'];

/** Client tools by name, e.g. `{ askUser: async ({ question }) => prompt(question) }`. */
export type ClientTools = Record<string, ClientToolHandler>;
