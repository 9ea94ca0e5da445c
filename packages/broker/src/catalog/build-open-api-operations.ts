import { EnclaveError } from '@enclave-vm/types';
import { assignToolNames, compareOperations } from './assign-tool-names.js';
import { JsonSchemaConverter } from './json-schema-converter.js';
import type { OpenApiDocument } from './load-open-api-document.js';
import type { OpenApiOperation, OperationBody, OperationParameter } from './open-api-operation.js';
import { isJsonObject, resolvePointer } from './resolve-pointer.js';
import type { ResolvedSourceConfig } from './resolve-source-config.js';
import { stableStringify } from './stable-stringify.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
/** Header parameters OpenAPI says to ignore: the request's own headers carry them. */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);
/** Swagger 2.0 parameter fields that describe the value, as JSON Schema keywords. */
const SWAGGER_VALUE_FIELDS = [
  'type',
  'format',
  'items',
  'enum',
  'default',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'multipleOf',
] as const;

interface RawOperation {
  method: string;
  path: string;
  operation: Record<string, unknown>;
  pathItem: Record<string, unknown>;
  operationId: string | undefined;
}

interface DraftParameter extends Omit<OperationParameter, 'argument'> {
  schema: Record<string, unknown>;
}

/**
 * Turns a loaded document into the source's operations: each gets its tool name, its plain JSON
 * Schema of arguments (path, query, header and cookie parameters by name, the request body under
 * `body`; a name used twice becomes `query.id`, `header.id`, …) and where its calls go. Operations
 * the source's `include` / `exclude` leave out are dropped. Throws `OPENAPI_INVALID` when a call
 * would go to an origin the source does not allow.
 */
export function buildOpenApiOperations(
  document: OpenApiDocument,
  source: ResolvedSourceConfig,
): OpenApiOperation[] {
  const raw = collectOperations(document.root).sort(compareOperations);
  const names = assignToolNames(source.name, raw);
  const converter = new JsonSchemaConverter(document);
  const operations: OpenApiOperation[] = [];
  raw.forEach((entry, index) => {
    const name = names[index] as string;
    const tags = Array.isArray(entry.operation.tags) ? entry.operation.tags.map(String) : [];
    const deprecated = entry.operation.deprecated === true;
    const info = {
      name,
      ...(entry.operationId === undefined ? {} : { operationId: entry.operationId }),
      method: entry.method,
      path: entry.path,
      tags: [...tags],
      deprecated,
    };
    if (!source.selects(info)) return;
    const requiresApproval = source.requiresApproval({ ...info, tags: [...tags] });
    const serverUrl = source.baseUrl ?? serverUrlOf(document, entry, source);
    if (!source.allowedOrigins.has(serverUrl.origin)) {
      throw new EnclaveError(
        'OPENAPI_INVALID',
        `The OpenAPI document of ${source.name} sends ${entry.method} ${entry.path} to ${serverUrl.origin}, which is not an origin of this service; set baseUrl, or list the origin in allowedOrigins`,
        { details: { origin: serverUrl.origin } },
      );
    }
    const drafts = collectParameters(document, entry, source, converter);
    const body = requestBodyOf(document, entry, converter);
    const { inputSchema, parameters } = argumentsOf(drafts, body);
    const outputSchema = resultSchemaOf(document, entry, converter);
    operations.push({
      name,
      operationId: entry.operationId,
      method: entry.method,
      path: entry.path,
      serverUrl,
      description: describeOperation(entry.operation),
      tags,
      deprecated,
      requiresApproval,
      inputSchema,
      ...(outputSchema === undefined ? {} : { outputSchema }),
      parameters,
      body: body?.body,
    });
  });
  return operations;
}

function collectOperations(root: Record<string, unknown>): RawOperation[] {
  const paths = isJsonObject(root.paths) ? root.paths : {};
  const operations: RawOperation[] = [];
  for (const [path, pathItem] of Object.entries(paths)) {
    if (!isJsonObject(pathItem)) continue;
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (!isJsonObject(operation)) continue;
      const operationId =
        typeof operation.operationId === 'string' && operation.operationId.trim() !== ''
          ? operation.operationId
          : undefined;
      operations.push({ method: method.toUpperCase(), path, operation, pathItem, operationId });
    }
  }
  return operations;
}

function describeOperation(operation: Record<string, unknown>): string | undefined {
  const summary = typeof operation.summary === 'string' ? operation.summary.trim() : '';
  const description = typeof operation.description === 'string' ? operation.description.trim() : '';
  if (summary === '') return description === '' ? undefined : description;
  if (description === '' || description === summary) return summary;
  return `${summary}\n\n${description}`;
}

function serverUrlOf(document: OpenApiDocument, entry: RawOperation, source: ResolvedSourceConfig): URL {
  const root = document.root;
  if (document.specification === '2.0') {
    const schemes = Array.isArray(root.schemes) ? root.schemes.map(String) : [];
    const protocol =
      schemes.length === 0 || schemes.includes(source.url.protocol.slice(0, -1))
        ? source.url.protocol
        : `${schemes[0]}:`;
    const host = typeof root.host === 'string' && root.host !== '' ? root.host : source.url.host;
    const basePath = typeof root.basePath === 'string' ? root.basePath : '';
    return parseServerUrl(`${protocol}//${host}${basePath}`, source);
  }
  const servers = [entry.operation.servers, entry.pathItem.servers, root.servers].find(
    (candidate) => Array.isArray(candidate) && candidate.length > 0,
  ) as unknown[] | undefined;
  const server = servers?.[0];
  if (!isJsonObject(server) || typeof server.url !== 'string') return parseServerUrl('/', source);
  const variables = isJsonObject(server.variables) ? server.variables : {};
  const url = server.url.replace(/\{([^}]+)\}/g, (whole, variable: string) => {
    const definition = variables[variable];
    return isJsonObject(definition) && definition.default !== undefined ? String(definition.default) : whole;
  });
  return parseServerUrl(url, source);
}

function parseServerUrl(url: string, source: ResolvedSourceConfig): URL {
  try {
    const parsed = new URL(url, source.url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return parsed;
  } catch (error) {
    throw new EnclaveError(
      'OPENAPI_INVALID',
      `The OpenAPI document of ${source.name} names a server that is not a URL: ${JSON.stringify(url)}`,
      { cause: error },
    );
  }
  throw new EnclaveError(
    'OPENAPI_INVALID',
    `The OpenAPI document of ${source.name} names a server that is not http(s): ${JSON.stringify(url)}`,
  );
}

function collectParameters(
  document: OpenApiDocument,
  entry: RawOperation,
  source: ResolvedSourceConfig,
  converter: JsonSchemaConverter,
): DraftParameter[] {
  const byKey = new Map<string, Record<string, unknown>>();
  for (const list of [entry.pathItem.parameters, entry.operation.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      const parameter = resolved(document, item);
      if (typeof parameter?.name !== 'string' || typeof parameter.in !== 'string') continue;
      byKey.set(`${parameter.in}\u0000${parameter.name}`, parameter);
    }
  }
  const drafts: DraftParameter[] = [];
  for (const parameter of byKey.values()) {
    const location = parameter.in as string;
    const name = parameter.name as string;
    if (location !== 'path' && location !== 'query' && location !== 'header' && location !== 'cookie')
      continue;
    if (location === 'header') {
      const lower = name.toLowerCase();
      if (IGNORED_HEADERS.has(lower) || Object.hasOwn(source.headers, lower)) continue;
    }
    drafts.push(draftParameter(document, parameter, location, name, converter));
  }
  // A template variable the document forgot to declare is still part of the URL.
  for (const match of entry.path.matchAll(/\{([^}]+)\}/g)) {
    const name = match[1] as string;
    if (drafts.some((draft) => draft.in === 'path' && draft.name === name)) continue;
    drafts.push({
      name,
      in: 'path',
      required: true,
      style: 'simple',
      explode: false,
      asJson: false,
      allowReserved: false,
      schema: { type: 'string' },
    });
  }
  return drafts;
}

function draftParameter(
  document: OpenApiDocument,
  parameter: Record<string, unknown>,
  location: OperationParameter['in'],
  name: string,
  converter: JsonSchemaConverter,
): DraftParameter {
  const required = location === 'path' || parameter.required === true;
  let schema: Record<string, unknown>;
  let asJson = false;
  let style: OperationParameter['style'];
  let explode: boolean;
  if (document.specification === '2.0') {
    const value: Record<string, unknown> = {};
    for (const field of SWAGGER_VALUE_FIELDS)
      if (Object.hasOwn(parameter, field)) value[field] = parameter[field];
    schema = converter.convert(value);
    ({ style, explode } = swaggerCollectionFormat(parameter.collectionFormat, location));
  } else {
    const content = isJsonObject(parameter.content) ? Object.values(parameter.content)[0] : undefined;
    if (isJsonObject(content)) {
      schema = converter.convert(content.schema ?? {});
      asJson = true;
    } else {
      schema = converter.convert(parameter.schema ?? {});
    }
    style = (
      typeof parameter.style === 'string' ? parameter.style : defaultStyle(location)
    ) as OperationParameter['style'];
    explode = typeof parameter.explode === 'boolean' ? parameter.explode : style === 'form';
  }
  if (typeof parameter.description === 'string' && schema.description === undefined) {
    schema = { ...schema, description: parameter.description };
  }
  if (parameter.deprecated === true) schema = { ...schema, deprecated: true };
  return {
    name,
    in: location,
    required,
    style,
    explode,
    asJson,
    allowReserved: parameter.allowReserved === true,
    schema,
  };
}

function defaultStyle(location: OperationParameter['in']): OperationParameter['style'] {
  return location === 'query' || location === 'cookie' ? 'form' : 'simple';
}

function swaggerCollectionFormat(
  format: unknown,
  location: OperationParameter['in'],
): { style: OperationParameter['style']; explode: boolean } {
  switch (format) {
    case 'multi':
      return { style: 'form', explode: true };
    case 'ssv':
      return { style: 'spaceDelimited', explode: false };
    case 'pipes':
      return { style: 'pipeDelimited', explode: false };
    case 'tsv':
      return { style: 'tabDelimited', explode: false };
    default:
      return { style: defaultStyle(location), explode: false };
  }
}

function requestBodyOf(
  document: OpenApiDocument,
  entry: RawOperation,
  converter: JsonSchemaConverter,
): { body: OperationBody; schema: Record<string, unknown> } | undefined {
  if (document.specification === '2.0') return swaggerBodyOf(document, entry, converter);
  const requestBody = resolved(document, entry.operation.requestBody);
  if (requestBody === undefined || !isJsonObject(requestBody.content)) return undefined;
  const mediaTypes = Object.keys(requestBody.content);
  const mediaType =
    mediaTypes.find((type) => /^application\/json\b/i.test(type)) ??
    mediaTypes.find((type) => /[/+]json\b/i.test(type)) ??
    mediaTypes.find((type) => /^application\/x-www-form-urlencoded\b/i.test(type)) ??
    mediaTypes.find((type) => /^text\//i.test(type)) ??
    mediaTypes[0];
  if (mediaType === undefined) return undefined;
  const media = requestBody.content[mediaType];
  const encoding = encodingOf(mediaType);
  let schema =
    encoding === 'text'
      ? { type: 'string' }
      : converter.convert(isJsonObject(media) ? (media.schema ?? {}) : {});
  if (typeof requestBody.description === 'string' && schema.description === undefined) {
    schema = { ...schema, description: requestBody.description };
  }
  return { body: { mediaType, encoding, required: requestBody.required === true }, schema };
}

function swaggerBodyOf(
  document: OpenApiDocument,
  entry: RawOperation,
  converter: JsonSchemaConverter,
): { body: OperationBody; schema: Record<string, unknown> } | undefined {
  const parameters = [
    ...(Array.isArray(entry.pathItem.parameters) ? entry.pathItem.parameters : []),
    ...(Array.isArray(entry.operation.parameters) ? entry.operation.parameters : []),
  ]
    .map((item) => resolved(document, item))
    .filter((item): item is Record<string, unknown> => item !== undefined);
  const consumes = (
    Array.isArray(entry.operation.consumes) ? entry.operation.consumes : document.root.consumes
  ) as unknown[] | undefined;
  const bodyParameter = parameters.find((parameter) => parameter.in === 'body');
  if (bodyParameter !== undefined) {
    const mediaType =
      consumes?.map(String).find((type) => /json/i.test(type)) ?? String(consumes?.[0] ?? 'application/json');
    const encoding = encodingOf(mediaType);
    let schema = encoding === 'text' ? { type: 'string' } : converter.convert(bodyParameter.schema ?? {});
    if (typeof bodyParameter.description === 'string' && schema.description === undefined) {
      schema = { ...schema, description: bodyParameter.description };
    }
    return { body: { mediaType, encoding, required: bodyParameter.required === true }, schema };
  }
  const fields = parameters.filter(
    (parameter) => parameter.in === 'formData' && typeof parameter.name === 'string',
  );
  if (fields.length === 0) return undefined;
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const field of fields) {
    const value: Record<string, unknown> = {};
    for (const key of SWAGGER_VALUE_FIELDS) if (Object.hasOwn(field, key)) value[key] = field[key];
    if (typeof field.description === 'string') value.description = field.description;
    properties[field.name as string] = converter.convert(value);
    if (field.required === true) required.push(field.name as string);
  }
  return {
    body: { mediaType: 'application/x-www-form-urlencoded', encoding: 'form', required: required.length > 0 },
    schema: { type: 'object', properties, ...(required.length > 0 ? { required } : {}) },
  };
}

/**
 * The JSON Schema of what a call returns, from the operation's success (2xx) responses, as the call
 * hands it to the code: a JSON answer's schema (parsed; calls ask for JSON first), `string` when
 * the answer has no JSON form (text),
 * `null` for a 204. Several different answers give `anyOf`. `undefined` when an answer is not
 * described (no 2xx response, a JSON answer without a schema, a 200 without content), so the result
 * stays unknown.
 */
function resultSchemaOf(
  document: OpenApiDocument,
  entry: RawOperation,
  converter: JsonSchemaConverter,
): Record<string, unknown> | undefined {
  const responses = isJsonObject(entry.operation.responses) ? entry.operation.responses : {};
  const statuses = Object.keys(responses).filter((status) => /^2(\d\d|XX)$/i.test(status));
  if (statuses.length === 0) return undefined;
  const schemas = new Map<string, Record<string, unknown>>();
  for (const status of statuses.sort()) {
    const response = resolved(document, responses[status]);
    if (response === undefined) return undefined;
    const schema = answerSchemaOf(document, status, response, converter);
    if (schema === undefined || Object.keys(schema).length === 0) return undefined;
    schemas.set(stableStringify(schema), schema);
  }
  const distinct = [...schemas.values()];
  return distinct.length === 1 ? distinct[0] : { anyOf: distinct };
}

function answerSchemaOf(
  document: OpenApiDocument,
  status: string,
  response: Record<string, unknown>,
  converter: JsonSchemaConverter,
): Record<string, unknown> | undefined {
  if (document.specification === '2.0') {
    if (response.schema !== undefined) return converter.convert(response.schema, 'response');
    return status === '204' ? { type: 'null' } : undefined;
  }
  const content = isJsonObject(response.content) ? response.content : {};
  const mediaTypes = Object.keys(content);
  if (mediaTypes.length === 0) return status === '204' ? { type: 'null' } : undefined;
  const json = mediaTypes.filter((type) => /^application\/json\b/i.test(type) || /[/+]json\b/i.test(type));
  if (json.length === 0) return { type: 'string' };
  const media = content[json[0] as string];
  const schema = isJsonObject(media) ? media.schema : undefined;
  if (schema === undefined) return undefined;
  // Calls ask for JSON first, so a JSON form is what they get when the answer has several.
  return converter.convert(schema, 'response');
}

function encodingOf(mediaType: string): OperationBody['encoding'] {
  if (/json/i.test(mediaType)) return 'json';
  if (/^application\/x-www-form-urlencoded\b/i.test(mediaType)) return 'form';
  return 'text';
}

function argumentsOf(
  drafts: readonly DraftParameter[],
  body: { body: OperationBody; schema: Record<string, unknown> } | undefined,
): { inputSchema: Record<string, unknown>; parameters: OperationParameter[] } {
  const counts = new Map<string, number>();
  for (const draft of drafts) counts.set(draft.name, (counts.get(draft.name) ?? 0) + 1);
  if (body !== undefined) counts.set('body', (counts.get('body') ?? 0) + 1);
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  const parameters: OperationParameter[] = [];
  for (const { schema, ...draft } of drafts) {
    const argument = (counts.get(draft.name) ?? 0) > 1 ? `${draft.in}.${draft.name}` : draft.name;
    properties[argument] = schema;
    if (draft.required) required.push(argument);
    parameters.push({ ...draft, argument });
  }
  if (body !== undefined) {
    properties.body = body.schema;
    if (body.body.required) required.push('body');
  }
  return {
    inputSchema: {
      type: 'object',
      properties,
      ...(required.length > 0 ? { required } : {}),
      additionalProperties: false,
    },
    parameters,
  };
}

/** An object, with one level of leftover (circular) `$ref` resolved. */
function resolved(document: OpenApiDocument, value: unknown): Record<string, unknown> | undefined {
  if (!isJsonObject(value)) return undefined;
  if (typeof value.$ref === 'string') {
    const target = resolvePointer(document.root, value.$ref);
    return isJsonObject(target) ? target : undefined;
  }
  return value;
}
