import { abortableDelay, computeBackoffDelay, type RetryPolicy } from '@enclave-vm/stream';
import { EnclaveError, toEnclaveError, type ValidationResult } from '@enclave-vm/types';
import type { FetchFunction, HeadersOption, HeaderValues } from '../enclave-client-options.js';
import { errorFromResponse } from './error-from-response.js';

/** Options of {@link BrokerHttp}. */
export interface BrokerHttpOptions {
  /** Base URL of the broker; a trailing slash is ignored, a path prefix kept. */
  brokerUrl: string;
  headers: HeadersOption | undefined;
  fetch: FetchFunction;
  retry: RetryPolicy;
}

/** Options of one {@link BrokerHttp.send}. */
export interface SendOptions {
  /** JSON body, or a function that makes it anew for each attempt. */
  body?: unknown;
  /** Aborts the request (and the waits between retries). */
  signal?: AbortSignal;
  /**
   * Repeat the request when it could not reach the broker (no answer at all). Only for requests
   * that are safe to repeat.
   * @default false
   */
  retryNetworkFailures?: boolean;
  /** Value of the `Accept` header. @default 'application/json' */
  accept?: string;
  /** What the request does, for error messages, e.g. `GET /health`. */
  what?: string;
}

/**
 * The client's HTTP plumbing: builds URLs from the broker's base URL, adds the configured headers,
 * turns error answers into `EnclaveError`s with the broker's code, and repeats safe requests that
 * could not reach the broker.
 */
export class BrokerHttp {
  /** The base URL without a trailing slash. */
  readonly baseUrl: string;
  private readonly headers: HeadersOption | undefined;
  private readonly fetchFunction: FetchFunction;
  readonly retry: RetryPolicy;

  /** Throws `CONFIGURATION_ERROR` for a `brokerUrl` that is not an http(s) URL. */
  constructor(options: BrokerHttpOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.brokerUrl);
    } catch (error) {
      throw new EnclaveError('CONFIGURATION_ERROR', `brokerUrl is not a URL: ${String(options.brokerUrl)}`, {
        cause: error,
      });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new EnclaveError('CONFIGURATION_ERROR', `brokerUrl must be http(s), got ${parsed.protocol}`);
    }
    parsed.search = '';
    parsed.hash = '';
    this.baseUrl = parsed.href.replace(/\/+$/, '');
    this.headers = options.headers;
    this.fetchFunction = options.fetch;
    this.retry = options.retry;
  }

  /** The absolute URL of a broker path such as `/execute`. */
  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** The WebSocket URL of a broker path (`ws:` for `http:`, `wss:` for `https:`). */
  webSocketUrl(path: string): string {
    return this.url(path).replace(/^http/, 'ws');
  }

  /**
   * Sends a request and resolves with a successful (2xx) response. Rejects with the broker's error
   * (its code from the error body) for an error answer, and with `CONNECTION_CLOSED` when the broker
   * could not be reached (after the retries, when allowed).
   */
  async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const what = options.what ?? `${method} ${path}`;
    let failedAttempts = 0;
    for (;;) {
      let response: Response;
      try {
        response = await this.fetchOnce(method, path, options);
      } catch (error) {
        const failure = this.networkError(error, what, options.signal);
        if (options.retryNetworkFailures !== true || failure.code !== 'CONNECTION_CLOSED') throw failure;
        failedAttempts++;
        if (failedAttempts > this.retry.maxAttempts) throw failure;
        const waited = await abortableDelay(computeBackoffDelay(failedAttempts, this.retry), options.signal);
        if (!waited) throw this.networkError(options.signal?.reason, what, options.signal);
        continue;
      }
      if (!response.ok) throw await errorFromResponse(response, what);
      return response;
    }
  }

  /**
   * Sends a request and checks its JSON answer with `parse`, e.g.
   * `(value) => validate(HealthResponseSchema, value)` (unknown fields are dropped).
   */
  async json<Value>(
    method: string,
    path: string,
    parse: (value: unknown) => ValidationResult<Value>,
    options: SendOptions = {},
  ): Promise<Value> {
    const what = options.what ?? `${method} ${path}`;
    const response = await this.send(method, path, options);
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new EnclaveError('PROTOCOL_ERROR', `${what}: the answer is not JSON`, { cause: error });
    }
    const parsed = parse(body);
    if (!parsed.success) {
      throw new EnclaveError('PROTOCOL_ERROR', `${what}: unexpected answer (${parsed.message})`);
    }
    return parsed.data;
  }

  private async fetchOnce(method: string, path: string, options: SendOptions): Promise<Response> {
    const headers: HeaderValues = { accept: options.accept ?? 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, await this.resolveHeaders());
    const init: RequestInit = { method, headers };
    const body: unknown = typeof options.body === 'function' ? await options.body() : options.body;
    if (body !== undefined) init.body = JSON.stringify(body);
    if (options.signal !== undefined) init.signal = options.signal;
    return this.fetchFunction(this.url(path), init);
  }

  private async resolveHeaders(): Promise<HeaderValues> {
    const headers = this.headers;
    if (headers === undefined) return {};
    try {
      return typeof headers === 'function' ? await headers() : headers;
    } catch (error) {
      throw new EnclaveError('CONFIGURATION_ERROR', 'The headers function failed', { cause: error });
    }
  }

  /** What a failed `fetch` means: our own abort, a configuration problem, or an unreachable broker. */
  private networkError(error: unknown, what: string, signal: AbortSignal | undefined): EnclaveError {
    if (signal?.aborted === true) {
      const reason: unknown = signal.reason;
      return EnclaveError.isInstance(reason)
        ? reason
        : new EnclaveError('CANCELLED', `${what} was aborted`, { cause: reason });
    }
    if (EnclaveError.isInstance(error)) return error;
    return new EnclaveError(
      'CONNECTION_CLOSED',
      `${what}: could not reach the broker at ${this.baseUrl} (${errorMessage(error)})`,
      { cause: error },
    );
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return toEnclaveError(error).message;
}
