import type { ClientToolContext, ClientToolHandler } from '@enclave-vm/react';
import { useCallback, useState } from 'react';

/** A question the code asked with `tools.confirm`, waiting for Yes or No on the page. */
export interface ConfirmRequest {
  /** The tool call that asked it. */
  callId: string;
  /** What to show. */
  question: string;
  /** Sends the choice back to the code. */
  answer(yes: boolean): void;
}

/** The open questions and the `confirm` client tool that opens them. */
export interface ConfirmRequests {
  /** Open questions by the id of their tool call. */
  requests: ReadonlyMap<string, ConfirmRequest>;
  /** The `confirm` client tool: `await tools.confirm({ question })` resolves with the choice. */
  confirm: ClientToolHandler;
}

/**
 * Keeps the questions asked with the `confirm` client tool until they are answered on the page. A
 * question whose call is no longer wanted (the run was cancelled or timed out) disappears.
 */
export function useConfirmRequests(): ConfirmRequests {
  const [requests, setRequests] = useState<ReadonlyMap<string, ConfirmRequest>>(new Map());
  const remove = useCallback((callId: string) => {
    setRequests((current) => {
      if (!current.has(callId)) return current;
      const next = new Map(current);
      next.delete(callId);
      return next;
    });
  }, []);
  const confirm = useCallback(
    (args: unknown, context: ClientToolContext): Promise<boolean> => {
      const question = readQuestion(args);
      return new Promise<boolean>((resolve, reject) => {
        const request: ConfirmRequest = {
          callId: context.callId,
          question,
          answer: (yes) => {
            remove(context.callId);
            resolve(yes);
          },
        };
        setRequests((current) => new Map(current).set(context.callId, request));
        context.signal.addEventListener(
          'abort',
          () => {
            remove(context.callId);
            reject(context.signal.reason);
          },
          { once: true },
        );
      });
    },
    [remove],
  );
  return { requests, confirm };
}

function readQuestion(args: unknown): string {
  const question =
    typeof args === 'object' && args !== null ? (args as { question?: unknown }).question : undefined;
  if (typeof question !== 'string' || question.trim() === '') {
    throw new TypeError("confirm needs a question: await tools.confirm({ question: 'Proceed?' })");
  }
  return question;
}
