import { EnclaveError } from '@enclave-vm/types';
import type { BrokerHttp } from '../http/broker-http.js';
import type { EventSource, EventSourceContext } from './event-source.js';
import { readEventBody } from './read-event-body.js';

/** The MIME type of event streams. */
export const NDJSON_MIME_TYPE = 'application/x-ndjson';

/**
 * Lines an encrypted session reads ahead while a batch is being opened (about 1–2 MB of events).
 * Opening is the slow step there: reading on keeps the connection drained (fetch's body handling
 * gets very slow when it is left full) and gives the next batch many events to decrypt at once.
 */
const ENCRYPTED_READ_AHEAD_LINES = 8192;

/**
 * Events over HTTP: the first connection is the NDJSON answer of `POST /execute` when there is one,
 * each later one `GET /sessions/:id/events?fromSeq=N`. An error answer throws the broker's error (a
 * retryable one, such as 429 or 503, makes the reader try again, no sooner than its `Retry-After`).
 */
export function httpEventSource(http: BrokerHttp, context: EventSourceContext): EventSource {
  let initial: { response: Response; filtered: boolean } | undefined;
  const readAhead = context.encrypted ? ENCRYPTED_READ_AHEAD_LINES : 0;
  return {
    async adopt(response, filtered) {
      initial = { response, filtered };
    },
    async open(fromSeq, signal) {
      let opened = initial;
      initial = undefined;
      if (opened === undefined) {
        const sessionId = context.sessionId();
        if (sessionId === undefined) {
          // Not retryable: without the id there is nothing to resume.
          throw new EnclaveError(
            'PROTOCOL_ERROR',
            'The event stream broke before the broker named the session; it cannot be resumed',
          );
        }
        const response = await http.send(
          'GET',
          `/sessions/${encodeURIComponent(sessionId)}/events?fromSeq=${fromSeq}`,
          { signal, accept: NDJSON_MIME_TYPE, what: `Resuming session ${sessionId} from seq ${fromSeq}` },
        );
        opened = { response, filtered: false };
      }
      const { response, filtered } = opened;
      return {
        skipsSeqs: filtered,
        [Symbol.asyncIterator]: () => readEventBody(response, { signal, readAhead }),
      };
    },
  };
}
