import { EnclaveError, type ToolCallPayload } from '@enclave-vm/types';
import type { ClientToolContext, ClientTools } from './client-tool.js';

/** The answer to one tool call: a result, or an error the code sees thrown. */
export type ToolAnswer = { result?: unknown } | { error: { message: string; code: string } };

/** Options of {@link ClientToolRunner}. */
export interface ClientToolRunnerOptions {
  /** The handlers by name. */
  tools: ClientTools;
  /** The session the calls belong to. */
  sessionId: () => string;
  /** Delivers an answer to the broker. */
  post: (callId: string, answer: ToolAnswer) => Promise<void>;
  /** Called when an answer could not be delivered. */
  onPostFailure: (callId: string, error: EnclaveError) => void;
}

/** Longest error message sent back (the broker accepts 100,000 characters). */
const MAX_MESSAGE_LENGTH = 100_000;

/**
 * Answers the tool calls a session hands to the client: runs the handler of the tool's name (with
 * an abort signal), and posts its result, its error, or `TOOL_NOT_FOUND` when the client has no
 * such tool. Calls run concurrently, like `Promise.all` in the code expects.
 */
export class ClientToolRunner {
  private readonly running = new Map<string, AbortController>();
  private stopped = false;

  constructor(private readonly options: ClientToolRunnerOptions) {}

  /** Starts answering a call; returns at once. */
  run(call: ToolCallPayload): void {
    if (this.stopped || this.running.has(call.callId)) return;
    const controller = new AbortController();
    this.running.set(call.callId, controller);
    void this.answer(call, controller.signal).finally(() => {
      if (this.running.get(call.callId) === controller) this.running.delete(call.callId);
    });
  }

  /** The broker applied a result for this call (possibly a timeout): its handler's answer is no longer wanted. */
  settle(callId: string): void {
    const controller = this.running.get(callId);
    if (controller === undefined) return;
    this.running.delete(callId);
    controller.abort(
      new EnclaveError('TOOL_CALL_ALREADY_ANSWERED', `Tool call ${callId} already has a result`),
    );
  }

  /** The session ended: aborts every running handler and ignores later calls. */
  stop(reason: EnclaveError): void {
    this.stopped = true;
    for (const controller of this.running.values()) controller.abort(reason);
    this.running.clear();
  }

  private async answer(call: ToolCallPayload, signal: AbortSignal): Promise<void> {
    const tools = this.options.tools;
    const handler = Object.hasOwn(tools, call.toolName) ? tools[call.toolName] : undefined;
    let answer: ToolAnswer;
    if (handler === undefined) {
      answer = {
        error: {
          message: `This client has no tool named ${JSON.stringify(call.toolName)}`,
          code: 'TOOL_NOT_FOUND',
        },
      };
    } else {
      const context: ClientToolContext = {
        sessionId: this.options.sessionId(),
        callId: call.callId,
        toolName: call.toolName,
        signal,
      };
      try {
        answer = resultAnswer(call.toolName, await handler(call.args, context));
      } catch (error) {
        answer = { error: toolError(error) };
      }
    }
    if (signal.aborted) return;
    try {
      await this.options.post(call.callId, answer);
    } catch (error) {
      if (!signal.aborted) {
        this.options.onPostFailure(
          call.callId,
          EnclaveError.isInstance(error)
            ? error
            : new EnclaveError('INTERNAL_ERROR', 'Could not deliver a tool result', { cause: error }),
        );
      }
    }
  }
}

function resultAnswer(toolName: string, value: unknown): ToolAnswer {
  if (value === undefined) return {};
  try {
    JSON.stringify(value);
  } catch (error) {
    return {
      error: {
        message: `The result of client tool ${JSON.stringify(toolName)} cannot be sent as JSON: ${messageOf(error)}`,
        code: 'TOOL_ERROR',
      },
    };
  }
  return { result: value };
}

/** The `{ message, code }` a thrown value is reported as: its string `code` when it has one. */
function toolError(error: unknown): { message: string; code: string } {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return {
    message: messageOf(error).slice(0, MAX_MESSAGE_LENGTH),
    code: typeof code === 'string' && code.length > 0 && code.length <= 100 ? code : 'TOOL_ERROR',
  };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'The tool failed';
}
