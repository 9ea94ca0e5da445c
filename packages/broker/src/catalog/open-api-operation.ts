/** Where and how one argument of an operation is sent. */
export interface OperationParameter {
  /** The argument's name in the tool's arguments. */
  readonly argument: string;
  /** The parameter's name in the HTTP request. */
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required: boolean;
  /** Serialization style (OpenAPI 3 names; Swagger 2.0 `collectionFormat`s are mapped onto them). */
  readonly style:
    | 'simple'
    | 'label'
    | 'matrix'
    | 'form'
    | 'spaceDelimited'
    | 'pipeDelimited'
    | 'tabDelimited'
    | 'deepObject';
  readonly explode: boolean;
  /** Set when the parameter is described with `content`: the value is sent as JSON text. */
  readonly asJson: boolean;
  /** Query parameters only: characters reserved by RFC 3986 are sent as they are. */
  readonly allowReserved: boolean;
}

/** How the `body` argument is sent. */
export interface OperationBody {
  readonly mediaType: string;
  /** `json`: JSON text; `form`: URL-encoded fields; `text`: the string as it is. */
  readonly encoding: 'json' | 'form' | 'text';
  readonly required: boolean;
}

/** One operation of an OpenAPI document, ready to be called and listed. */
export interface OpenApiOperation {
  /** The tool name, `${service}_${operationId}`. */
  readonly name: string;
  readonly operationId: string | undefined;
  /** HTTP method, upper case. */
  readonly method: string;
  /** Path template as the document writes it. */
  readonly path: string;
  /** Where calls go: the server URL the path is appended to. */
  readonly serverUrl: URL;
  readonly description: string | undefined;
  readonly tags: string[];
  readonly deprecated: boolean;
  /** Whether calls wait for a person's approval (the source's `requiresApproval`). */
  readonly requiresApproval: boolean;
  /** The arguments' JSON Schema: an object, plain JSON Schema 2020-12 with no `$ref`. */
  readonly inputSchema: Record<string, unknown>;
  /** What a call returns, from the success responses; absent when they do not describe it. */
  readonly outputSchema?: Record<string, unknown>;
  readonly parameters: readonly OperationParameter[];
  readonly body: OperationBody | undefined;
}
