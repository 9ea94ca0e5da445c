import { EnclaveError } from '@enclave-vm/types';
import { abortReason } from './abort-reason.js';
import type { HttpAgents } from './http-agents.js';
import type { OpenApiOperation, OperationParameter } from './open-api-operation.js';
import { type OriginBoundAnswer, requestWithinOrigins } from './request-within-origins.js';
import type { ResolvedSourceConfig } from './resolve-source-config.js';

/** Largest response an operation call reads (16 MiB, the PERMISSIVE level's largest tool result). */
export const MAX_OPERATION_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Characters of an error answer's body quoted in the error message. */
const QUOTED_BODY_CHARS = 200;
/** Characters of an error answer's text body kept in `details.body`. */
const KEPT_BODY_CHARS = 4_000;

/**
 * Calls one operation with arguments already checked against its input schema: builds the URL
 * (path parameters substituted, query parameters serialized as the document says), adds the source's
 * headers, sends `body` as JSON (or form fields, or text), and turns the answer into the tool's result:
 * parsed JSON for a JSON answer, text for any other, `null` for an empty one. A status other than
 * 2xx rejects with `UPSTREAM_CLIENT_ERROR` (4xx) or `UPSTREAM_UNAVAILABLE` (5xx, 408, 429, network
 * failure), with `details.status` and `details.body`; the source's `timeout` rejects with
 * `TOOL_TIMEOUT`; `signal` (the tool timeout, cancel) aborts the request.
 */
export async function callOpenApiOperation(
  operation: OpenApiOperation,
  args: Record<string, unknown>,
  source: ResolvedSourceConfig,
  agents: HttpAgents,
  signal: AbortSignal,
): Promise<unknown> {
  const url = operationUrl(operation, args);
  const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.8' };
  const cookies: string[] = [];
  for (const parameter of operation.parameters) {
    const value = args[parameter.argument];
    if (value === undefined) continue;
    if (parameter.in === 'header') headers[parameter.name.toLowerCase()] = serializeSimple(parameter, value);
    else if (parameter.in === 'cookie')
      cookies.push(`${parameter.name}=${encodeURIComponent(serializeSimple(parameter, value))}`);
  }
  if (cookies.length > 0) headers.cookie = cookies.join('; ');
  let body: string | undefined;
  if (operation.body !== undefined && args.body !== undefined) {
    body = encodeBody(operation.body.encoding, args.body);
    headers['content-type'] = operation.body.mediaType;
  }
  // The source's headers last: they carry the broker's credentials and are never overridden.
  Object.assign(headers, source.headers);
  const timeout = AbortSignal.timeout(source.timeout);
  const combined = AbortSignal.any([signal, timeout]);
  const what = `${operation.name}: ${operation.method} ${url.pathname}`;
  const failure = (error: unknown): EnclaveError => {
    if (timeout.aborted && !signal.aborted) {
      return new EnclaveError('TOOL_TIMEOUT', `${what} got no answer within ${source.timeout} ms`, {
        cause: error,
      });
    }
    if (combined.aborted) return abortReason(signal.aborted ? signal : combined);
    return EnclaveError.isInstance(error)
      ? error
      : new EnclaveError('UPSTREAM_UNAVAILABLE', `${what} failed: ${String(error)}`, { cause: error });
  };
  let text: string;
  let response: OriginBoundAnswer;
  try {
    response = await requestWithinOrigins({
      method: operation.method,
      url,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: combined,
      allowedOrigins: source.allowedOrigins,
      agents,
    });
    text = await response.readText(MAX_OPERATION_RESPONSE_BYTES, what, 'TOOL_RESULT_TOO_LARGE');
  } catch (error) {
    throw failure(error);
  }
  const parsed = parseAnswer(response, text, what);
  if (response.status >= 200 && response.status <= 299) {
    if (parsed.error !== undefined) throw parsed.error;
    return parsed.value;
  }
  throw statusError(what, response, parsed.error === undefined ? parsed.value : text);
}

function operationUrl(operation: OpenApiOperation, args: Record<string, unknown>): URL {
  let path = operation.path;
  for (const parameter of operation.parameters) {
    if (parameter.in !== 'path') continue;
    const value = args[parameter.argument];
    const serialized = value === undefined ? '' : serializePath(parameter, value);
    // URLs read `.`, `..` and their encodings as steps through the path: refuse them.
    if (/^(\.|%2e){1,2}$/i.test(serialized)) {
      throw new EnclaveError(
        'TOOL_VALIDATION_ERROR',
        `Invalid arguments for tool ${operation.name}: ${parameter.argument}: must not be "." or ".."`,
      );
    }
    path = path.replaceAll(`{${parameter.name}}`, serialized);
  }
  const base = operation.serverUrl;
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
  const query: string[] = [];
  for (const parameter of operation.parameters) {
    if (parameter.in !== 'query') continue;
    const value = args[parameter.argument];
    if (value === undefined) continue;
    query.push(...serializeQuery(parameter, value));
  }
  const existing = url.search.replace(/^\?/, '');
  const search = [existing, ...query].filter((part) => part !== '').join('&');
  url.search = search === '' ? '' : `?${search}`;
  return url;
}

function encodeBody(encoding: 'json' | 'form' | 'text', value: unknown): string {
  if (encoding === 'json') return JSON.stringify(value);
  if (encoding === 'text') return typeof value === 'string' ? value : JSON.stringify(value);
  const form = new URLSearchParams();
  if (typeof value === 'object' && value !== null) {
    for (const [name, field] of Object.entries(value)) {
      if (field === undefined) continue;
      for (const item of Array.isArray(field) ? field : [field]) form.append(name, scalarText(item));
    }
  }
  return form.toString();
}

/** A primitive as text; objects inside arrays or nested objects go as JSON. */
function scalarText(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function entriesOf(value: object): [string, unknown][] {
  return Object.entries(value).filter(([, item]) => item !== undefined);
}

/** Header and cookie values (style `simple` / `form`, without percent-encoding). */
function serializeSimple(parameter: OperationParameter, value: unknown): string {
  if (parameter.asJson) return JSON.stringify(value);
  if (Array.isArray(value)) return value.map(scalarText).join(',');
  if (typeof value === 'object' && value !== null) {
    return entriesOf(value)
      .map(([key, item]) => (parameter.explode ? `${key}=${scalarText(item)}` : `${key},${scalarText(item)}`))
      .join(',');
  }
  return scalarText(value);
}

function serializePath(parameter: OperationParameter, value: unknown): string {
  const encode = (text: string) => encodeURIComponent(text);
  if (parameter.asJson) return encode(JSON.stringify(value));
  const name = parameter.name;
  const items: string[] = Array.isArray(value)
    ? value.map((item) => encode(scalarText(item)))
    : typeof value === 'object' && value !== null
      ? entriesOf(value).map(([key, item]) =>
          parameter.explode
            ? `${encode(key)}=${encode(scalarText(item))}`
            : `${encode(key)},${encode(scalarText(item))}`,
        )
      : [encode(scalarText(value))];
  switch (parameter.style) {
    case 'label':
      return `.${items.join(parameter.explode ? '.' : ',')}`;
    case 'matrix':
      if (parameter.explode && Array.isArray(value)) return items.map((item) => `;${name}=${item}`).join('');
      if (parameter.explode && typeof value === 'object' && value !== null)
        return items.map((item) => `;${item}`).join('');
      return `;${name}=${items.join(',')}`;
    default:
      return items.join(',');
  }
}

function serializeQuery(parameter: OperationParameter, value: unknown): string[] {
  const encode = (text: string) =>
    parameter.allowReserved
      ? encodeURI(text).replace(/[&=+#]/g, (character) => encodeURIComponent(character))
      : encodeURIComponent(text);
  const name = encodeURIComponent(parameter.name);
  if (parameter.asJson) return [`${name}=${encode(JSON.stringify(value))}`];
  if (Array.isArray(value)) {
    const items = value.map((item) => encode(scalarText(item)));
    if (parameter.style === 'form' && parameter.explode) return items.map((item) => `${name}=${item}`);
    const separator =
      parameter.style === 'spaceDelimited'
        ? '%20'
        : parameter.style === 'pipeDelimited'
          ? '|'
          : parameter.style === 'tabDelimited'
            ? '%09'
            : ',';
    return [`${name}=${items.join(separator)}`];
  }
  if (typeof value === 'object' && value !== null) {
    const entries = entriesOf(value);
    if (parameter.style === 'deepObject') {
      return entries.map(
        ([key, item]) => `${name}%5B${encodeURIComponent(key)}%5D=${encode(scalarText(item))}`,
      );
    }
    if (parameter.explode)
      return entries.map(([key, item]) => `${encodeURIComponent(key)}=${encode(scalarText(item))}`);
    return [
      `${name}=${entries.map(([key, item]) => `${encode(key)},${encode(scalarText(item))}`).join(',')}`,
    ];
  }
  return [`${name}=${encode(scalarText(value))}`];
}

function parseAnswer(
  response: OriginBoundAnswer,
  text: string,
  what: string,
): { value: unknown; error?: EnclaveError } {
  if (text === '') return { value: null };
  const type = response.header('content-type') ?? '';
  if (!/[/+]json\b/i.test(type)) return { value: text };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return {
      value: text,
      error: new EnclaveError('TOOL_ERROR', `${what} answered ${response.status} with invalid JSON`, {
        cause: error,
        details: { status: response.status },
      }),
    };
  }
}

function statusError(what: string, response: OriginBoundAnswer, body: unknown): EnclaveError {
  const status = response.status;
  const retryable = status >= 500 || status === 408 || status === 429;
  const code = retryable ? 'UPSTREAM_UNAVAILABLE' : 'UPSTREAM_CLIENT_ERROR';
  const shownBody = typeof body === 'string' ? body : (JSON.stringify(body) ?? '');
  const quoted =
    shownBody === '' || shownBody === 'null'
      ? ''
      : `: ${shownBody.length > QUOTED_BODY_CHARS ? `${shownBody.slice(0, QUOTED_BODY_CHARS)}…` : shownBody}`;
  const retryAfter = response.header('retry-after');
  return new EnclaveError(
    code,
    `${what} answered ${status}${response.statusText === '' ? '' : ` ${response.statusText}`}${quoted}`,
    {
      details: {
        status,
        body: shownBody.length > KEPT_BODY_CHARS ? `${shownBody.slice(0, KEPT_BODY_CHARS)}…` : body,
        ...(retryAfter === undefined ? {} : { retryAfter }),
      },
    },
  );
}
