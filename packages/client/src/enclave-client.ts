import { resolveRetryPolicy, type WebSocketConstructor } from '@enclave-vm/stream';
import {
  type CatalogResponse,
  CatalogResponseSchema,
  type DeclarationsResponse,
  DeclarationsResponseSchema,
  EnclaveError,
  type HealthResponse,
  HealthResponseSchema,
  SessionIdSchema,
  type SessionInfo,
  SessionInfoSchema,
  validate,
} from '@enclave-vm/types';
import type {
  ClientExecuteOptions,
  FollowOptions,
  RequestOptions,
  ResumeOptions,
} from './client-execute-options.js';
import {
  CLIENT_DEFAULTS,
  type ClientTransport,
  type EnclaveClientOptions,
  type FetchFunction,
} from './enclave-client-options.js';
import type { ExecutionSession } from './execution-session.js';
import { BrokerHttp } from './http/broker-http.js';
import {
  ClientSessionRun,
  type ExecuteRequestBody,
  type SessionStart,
} from './session/client-session-run.js';
import type { ClientTools } from './tools/client-tool.js';
import type { EventSource, EventSourceContext } from './transport/event-source.js';
import { httpEventSource } from './transport/http-event-source.js';
import { webSocketEventSource } from './transport/web-socket-event-source.js';

/**
 * The EnclaveJS client for browsers and Node 20+: runs code on a broker and follows each session's
 * events, resuming across dropped connections, answering client-side tools, and opening encrypted
 * events.
 *
 * @example
 * const client = new EnclaveClient({ brokerUrl: 'http://localhost:3001' });
 * const session = client.execute('console.log("Hello from the sandbox!"); return 42', {
 *   onStdout: (chunk) => process.stdout.write(chunk),
 * });
 * const outcome = await session.result; // { ok: true, result: 42, stats: { … } }
 */
export class EnclaveClient {
  private readonly http: BrokerHttp;
  private readonly tools: ClientTools;
  private readonly encryption: boolean;
  private readonly transport: ClientTransport;
  private readonly heartbeatTimeout: number;
  private readonly WebSocket: WebSocketConstructor | undefined;
  private readonly webSocketToken: EnclaveClientOptions['webSocketToken'];

  /** Validates the options; throws `CONFIGURATION_ERROR` for an invalid one. */
  constructor(options: EnclaveClientOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'EnclaveClient needs options with a brokerUrl');
    }
    this.http = new BrokerHttp({
      brokerUrl: options.brokerUrl,
      headers: options.headers,
      fetch: resolveFetch(options.fetch),
      retry: resolveRetryPolicy(options.reconnect, CLIENT_DEFAULTS),
    });
    if (
      options.headers !== undefined &&
      typeof options.headers !== 'function' &&
      typeof options.headers !== 'object'
    ) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'headers must be an object or a function returning one');
    }
    this.tools = checkTools(options.tools ?? {}, 'tools');
    this.encryption = options.encryption ?? CLIENT_DEFAULTS.encryption;
    this.transport = checkTransport(options.transport ?? CLIENT_DEFAULTS.transport);
    this.heartbeatTimeout = options.heartbeatTimeout ?? CLIENT_DEFAULTS.heartbeatTimeout;
    if (!(this.heartbeatTimeout >= 0)) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `heartbeatTimeout must be ≥ 0, got ${this.heartbeatTimeout}`,
      );
    }
    this.WebSocket = options.WebSocket;
    this.webSocketToken = options.webSocketToken;
  }

  /** The broker's base URL, without a trailing slash. */
  get brokerUrl(): string {
    return this.http.baseUrl;
  }

  /**
   * Runs code on the broker (`POST /execute`) and returns its handle at once. The request is sent
   * once and never repeated (an accepted session is resumed instead); an error answer rejects
   * `ready` and `result` with the broker's code.
   *
   * @example
   * const session = client.execute('return await tools.askUser({ question: "Name?" })', {
   *   tools: { askUser: async ({ question }: { question: string }) => prompt(question) },
   * });
   * for await (const event of session) console.log(event.type);
   */
  execute(code: string, options: ClientExecuteOptions = {}): ExecutionSession {
    const request: ExecuteRequestBody = { code };
    if (options.timeout !== undefined) request.timeout = options.timeout;
    if (options.maxToolCalls !== undefined) request.maxToolCalls = options.maxToolCalls;
    if (options.context !== undefined) request.context = options.context;
    return this.startRun(
      { kind: 'execute', request, encrypt: options.encryption ?? this.encryption },
      options,
    );
  }

  /**
   * Follows an existing session from `fromSeq` (replayed, then live, until `final`), e.g. after a
   * page reload with the id kept in `sessionStorage`. Client tools it hands out from now on are
   * answered; calls answered before the resume are not run again. An encrypted session needs the
   * `keyPair` of the handle that started it.
   *
   * @param fromSeq First seq to deliver. @default 1
   * @example
   * const session = client.resume(sessionStorage.getItem('sessionId')!, 1);
   * const outcome = await session.result;
   */
  resume(sessionId: string, fromSeq = 1, options: ResumeOptions = {}): ExecutionSession {
    if (!SessionIdSchema.safeParse(sessionId).success) {
      throw new EnclaveError('CONFIGURATION_ERROR', `Not a session id: ${JSON.stringify(sessionId)}`);
    }
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `fromSeq must be a positive integer, got ${String(fromSeq)}`,
      );
    }
    return this.startRun({ kind: 'resume', sessionId, fromSeq, keyPair: options.keyPair }, options);
  }

  /** The session's status (`GET /sessions/:id`); rejects with `SESSION_NOT_FOUND` when unknown. */
  getSession(sessionId: string, options: RequestOptions = {}): Promise<SessionInfo> {
    return this.http.json(
      'GET',
      `/sessions/${encodeURIComponent(sessionId)}`,
      (value) => validate(SessionInfoSchema, value),
      { retryNetworkFailures: true, signal: options.signal },
    );
  }

  /** The broker's liveness and load (`GET /health`). */
  health(options: RequestOptions = {}): Promise<HealthResponse> {
    return this.http.json('GET', '/health', (value) => validate(HealthResponseSchema, value), {
      retryNetworkFailures: true,
      signal: options.signal,
    });
  }

  /**
   * The broker's action catalog (`GET /code/actions`): the actions its OpenAPI sources offer, each
   * with its argument JSON Schema; the services, with `status` (`ok`, `stale`, `unavailable`) and
   * the last poll's `error`; and a `version` that changes with the actions (compare it, or watch
   * for `catalog_changed` events in a session, to know when to list them again).
   *
   * @example
   * const { actions, version } = await client.listActions();
   * const call = actions.find((action) => action.name === 'user-service_listUsers');
   */
  listActions(options: RequestOptions = {}): Promise<CatalogResponse> {
    return this.http.json('GET', '/code/actions', (value) => validate(CatalogResponseSchema, value), {
      retryNetworkFailures: true,
      signal: options.signal,
    });
  }

  /**
   * TypeScript declarations of every tool the broker runs (`GET /code/declarations`): a script that
   * declares `tools`, `callTool` and `context` with each tool's argument and result types and its
   * description, for a model to write code against (or a type checker to check it). `version` is a
   * hash of the text: equal versions, equal declarations. Client tools of this client are not in it
   * (the broker does not know them).
   *
   * @example
   * const { declarations } = await client.getDeclarations();
   * const prompt = `Write the body of an async function. Available globals:\n${declarations}`;
   */
  getDeclarations(options: RequestOptions = {}): Promise<DeclarationsResponse> {
    return this.http.json(
      'GET',
      '/code/declarations',
      (value) => validate(DeclarationsResponseSchema, value),
      { retryNetworkFailures: true, signal: options.signal },
    );
  }

  private startRun(start: SessionStart, options: FollowOptions): ExecutionSession {
    const tools =
      options.tools === undefined
        ? this.tools
        : { ...this.tools, ...checkTools(options.tools, 'options.tools') };
    return new ClientSessionRun({
      http: this.http,
      start,
      options,
      tools,
      createSource: this.eventSources[checkTransport(options.transport ?? this.transport)],
      heartbeatTimeout: this.heartbeatTimeout,
    });
  }

  /** The source of a session's events for each transport. */
  private readonly eventSources: Record<ClientTransport, (context: EventSourceContext) => EventSource> = {
    http: (context) => httpEventSource(this.http, context),
    websocket: (context) =>
      webSocketEventSource(
        {
          url: this.http.webSocketUrl('/sessions/stream'),
          WebSocket: this.WebSocket,
          token: this.webSocketToken,
        },
        context,
      ),
  };
}

function resolveFetch(provided: FetchFunction | undefined): FetchFunction {
  if (provided !== undefined) {
    if (typeof provided !== 'function')
      throw new EnclaveError('CONFIGURATION_ERROR', 'fetch must be a function');
    return provided;
  }
  if (typeof globalThis.fetch !== 'function') {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      'This runtime has no global fetch: pass one as the `fetch` option',
    );
  }
  // Called through globalThis: browsers refuse a detached `fetch` ("Illegal invocation").
  return (input, init) => globalThis.fetch(input, init);
}

function checkTools(tools: ClientTools, name: string): ClientTools {
  if (typeof tools !== 'object' || tools === null) {
    throw new EnclaveError('CONFIGURATION_ERROR', `${name} must be an object of handlers by tool name`);
  }
  for (const [toolName, handler] of Object.entries(tools)) {
    if (typeof handler !== 'function') {
      throw new EnclaveError('CONFIGURATION_ERROR', `${name}.${toolName} must be a function`);
    }
  }
  return tools;
}

function checkTransport(transport: ClientTransport): ClientTransport {
  if (transport !== 'http' && transport !== 'websocket') {
    throw new EnclaveError(
      'CONFIGURATION_ERROR',
      `transport must be 'http' or 'websocket', got ${String(transport)}`,
    );
  }
  return transport;
}
