import { createHash } from 'node:crypto';
import { computeBackoffDelay } from '@enclave-vm/stream';
import {
  type CatalogServiceStatus,
  EnclaveError,
  type Logger,
  toEnclaveError,
  type WireError,
} from '@enclave-vm/types';
import { buildOpenApiOperations } from './build-open-api-operations.js';
import { HttpAgents } from './http-agents.js';
import { loadOpenApiDocument } from './load-open-api-document.js';
import type { OpenApiOperation } from './open-api-operation.js';
import { requestWithinOrigins } from './request-within-origins.js';
import type { ResolvedSourceConfig } from './resolve-source-config.js';

/** Largest OpenAPI document read (64 MiB). */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/** First retry after a failed poll, in ms (then doubling, at most the poll interval). */
const FIRST_RETRY_DELAY = 1_000;

/** What a source knows after its last poll. */
export interface SourceState {
  /** The operations of the last good document (empty until one loaded). */
  readonly operations: readonly OpenApiOperation[];
  /** ISO 8601 time of the last successful poll (a 304 included), or `''` before the first. */
  readonly lastUpdated: string;
  readonly status: CatalogServiceStatus;
  /** Why the last poll failed, when `status` is not `ok`. */
  readonly error: WireError | undefined;
}

/** Options of {@link OpenApiSource}. */
export interface OpenApiSourceOptions {
  logger: Logger;
  /** Called after a poll that loaded a document with different operations. */
  onOperations: (source: OpenApiSource, previous: readonly OpenApiOperation[]) => void;
}

/**
 * One OpenAPI source, polled: fetches its document at start and every `pollInterval` with a
 * conditional request (`If-None-Match` / `If-Modified-Since` from the last good answer; a 304 or a
 * byte-identical document changes nothing), parses and validates it, and builds its operations.
 * A failed poll keeps the operations of the last good document and is retried with backoff (1 s,
 * doubling, at most `pollInterval`). Headers of the source go with every fetch and never into a log
 * or an error.
 */
export class OpenApiSource {
  readonly config: ResolvedSourceConfig;
  /** Keep-alive connection pools for the document fetch and the operation calls of this source. */
  readonly agents = new HttpAgents();
  private current: SourceState = {
    operations: [],
    lastUpdated: '',
    status: 'unavailable',
    error: { code: 'UPSTREAM_UNAVAILABLE', message: 'The first poll has not finished yet' },
  };
  private readonly options: OpenApiSourceOptions;
  private etag: string | undefined;
  private lastModified: string | undefined;
  private documentHash: string | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly closed = new AbortController();
  /** Settles once the first poll has succeeded or failed. */
  readonly firstPoll: Promise<void>;

  constructor(config: ResolvedSourceConfig, options: OpenApiSourceOptions) {
    this.config = config;
    this.options = options;
    this.firstPoll = this.poll();
  }

  /** The state after the last poll. */
  get state(): SourceState {
    return this.current;
  }

  /**
   * Polls now (a poll already under way is joined rather than doubled) and schedules the next one.
   * Never rejects: a failure is recorded in {@link state}.
   */
  poll(): Promise<void> {
    if (this.closed.signal.aborted) return Promise.resolve();
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
      this.schedule();
    });
    return this.polling;
  }

  /** Stops polling and aborts a fetch under way. */
  close(): void {
    this.closed.abort(new EnclaveError('SHUTTING_DOWN', 'The catalog is closing'));
    clearTimeout(this.timer);
    this.timer = undefined;
    this.agents.close();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.closed.signal.aborted) return;
    const interval = this.config.pollInterval;
    const delay =
      this.failures === 0
        ? interval
        : computeBackoffDelay(this.failures, {
            initialDelay: Math.min(FIRST_RETRY_DELAY, interval),
            maxDelay: interval,
            backoffMultiplier: 2,
            jitter: 0.2,
          });
    this.timer = setTimeout(() => void this.poll(), delay);
    this.timer.unref();
  }

  private async pollOnce(): Promise<void> {
    const { config } = this;
    const timeout = AbortSignal.timeout(config.timeout);
    const signal = AbortSignal.any([this.closed.signal, timeout]);
    const what = `GET ${config.displayUrl}`;
    try {
      const headers: Record<string, string> = {
        accept: 'application/json, application/yaml;q=0.9, text/yaml;q=0.9, */*;q=0.8',
      };
      if (this.etag !== undefined) headers['if-none-match'] = this.etag;
      if (this.lastModified !== undefined) headers['if-modified-since'] = this.lastModified;
      Object.assign(headers, config.headers);
      const response = await requestWithinOrigins({
        method: 'GET',
        url: config.url,
        headers,
        signal,
        allowedOrigins: config.allowedOrigins,
        agents: this.agents,
      });
      if (response.status === 304) {
        response.discard();
        this.succeeded();
        return;
      }
      if (response.status < 200 || response.status > 299) {
        response.discard();
        const code = response.status >= 500 || response.status === 408 || response.status === 429;
        throw new EnclaveError(
          code ? 'UPSTREAM_UNAVAILABLE' : 'UPSTREAM_CLIENT_ERROR',
          `${what} answered ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`,
          { details: { status: response.status } },
        );
      }
      const text = await response.readText(MAX_DOCUMENT_BYTES, what, 'OPENAPI_INVALID');
      const documentHash = createHash('sha256').update(text).digest('hex');
      if (documentHash !== this.documentHash) {
        const document = await loadOpenApiDocument(text, config.name);
        const operations = buildOpenApiOperations(document, config);
        if (this.closed.signal.aborted) return;
        const previous = this.current.operations;
        this.current = { ...this.current, operations };
        this.documentHash = documentHash;
        this.options.onOperations(this, previous);
      }
      // Validators are kept only from a document that loaded: a 304 must never confirm a bad one.
      this.etag = response.header('etag');
      this.lastModified = response.header('last-modified');
      this.succeeded();
    } catch (caught) {
      if (this.closed.signal.aborted) return;
      const error = timeout.aborted
        ? new EnclaveError('UPSTREAM_UNAVAILABLE', `${what} got no answer within ${config.timeout} ms`)
        : toEnclaveError(caught, 'OPENAPI_INVALID');
      this.failed(error);
    }
  }

  private succeeded(): void {
    this.failures = 0;
    this.current = {
      operations: this.current.operations,
      lastUpdated: new Date().toISOString(),
      status: 'ok',
      error: undefined,
    };
  }

  private failed(error: EnclaveError): void {
    this.failures++;
    const wire: WireError = { code: error.code, message: error.message };
    this.current = {
      ...this.current,
      status: this.current.lastUpdated === '' ? 'unavailable' : 'stale',
      error: wire,
    };
    this.options.logger.warn(`OpenAPI source ${this.config.name} could not be polled`, {
      source: this.config.name,
      url: this.config.displayUrl,
      code: wire.code,
      error: wire.message,
      failures: this.failures,
      keptActions: this.current.operations.length,
    });
  }
}
