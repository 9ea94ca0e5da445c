import { EnclaveError, type Logger } from '@enclave-vm/types';
import type { AuthConfig } from '../options/broker-options.js';
import type { AuthenticatedUser } from '../tools/tool-types.js';

/** Longest credential string passed to `validate`; longer ones are rejected unread. */
const MAX_CREDENTIAL_LENGTH = 8192;

const AUTHENTICATION_TYPES: ReadonlySet<string> = new Set(['bearer', 'api-key', 'custom']);

/** The headers an {@link Authenticator} reads credentials from. */
export type CredentialHeaders = Record<string, string | string[] | undefined>;

/**
 * Checks callers against `BrokerOptions.authentication`: reads the credential the configured type
 * names (`Authorization: Bearer …`, `x-api-key`, or the raw `Authorization` value), asks `validate`,
 * and turns a valid result into the user stamped on sessions.
 */
export class Authenticator {
  private readonly config: AuthConfig;
  private readonly logger: Logger | undefined;

  /** Throws `CONFIGURATION_ERROR` for an unknown `type` or a missing `validate`. */
  constructor(config: AuthConfig, logger?: Logger) {
    if (!AUTHENTICATION_TYPES.has(config.type)) {
      throw new EnclaveError(
        'CONFIGURATION_ERROR',
        `authentication.type must be 'bearer', 'api-key' or 'custom', got ${JSON.stringify(config.type)}`,
      );
    }
    if (typeof config.validate !== 'function') {
      throw new EnclaveError('CONFIGURATION_ERROR', 'authentication.validate must be a function');
    }
    this.config = config;
    this.logger = logger;
  }

  /** The credential in `headers` for the configured type, or undefined when there is none. */
  credentialsFrom(headers: CredentialHeaders): string | undefined {
    const name = this.config.type === 'api-key' ? 'x-api-key' : 'authorization';
    const raw = headers[name];
    const value = typeof raw === 'string' ? raw.trim() : undefined;
    if (value === undefined || value === '') return undefined;
    if (this.config.type !== 'bearer') return value;
    const match = /^Bearer\s+(\S.*)$/i.exec(value);
    return match?.[1];
  }

  /** Validates a credential; throws `UNAUTHORIZED` when it is missing or not accepted. */
  async authenticate(credentials: string | undefined): Promise<AuthenticatedUser> {
    if (credentials === undefined || credentials === '') {
      throw new EnclaveError('UNAUTHORIZED', `Missing credentials: ${this.describeExpected()}`);
    }
    if (credentials.length > MAX_CREDENTIAL_LENGTH) {
      throw new EnclaveError('UNAUTHORIZED', 'Invalid credentials');
    }
    let result: Awaited<ReturnType<AuthConfig['validate']>>;
    try {
      result = await this.config.validate(credentials);
    } catch (error) {
      // A validator may reject by throwing its own EnclaveError (e.g. FORBIDDEN); anything else it
      // throws counts as a refusal rather than a server failure the client could trigger at will.
      if (EnclaveError.isInstance(error)) throw error;
      this.logger?.warn('authentication.validate threw; treating the credentials as invalid', {
        error: error instanceof Error ? error.message : String(error),
      });
      throw new EnclaveError('UNAUTHORIZED', 'Invalid credentials', { cause: error });
    }
    if (result === null || typeof result !== 'object' || result.valid !== true) {
      throw new EnclaveError('UNAUTHORIZED', 'Invalid credentials');
    }
    const user: AuthenticatedUser = {};
    if (result.userId !== undefined) user.userId = result.userId;
    if (result.tenantId !== undefined) user.tenantId = result.tenantId;
    if (result.permissions !== undefined) user.permissions = result.permissions;
    return user;
  }

  /** The `WWW-Authenticate` challenge sent with 401 answers, for the bearer type. */
  get challenge(): string | undefined {
    return this.config.type === 'bearer' ? 'Bearer realm="enclave"' : undefined;
  }

  private describeExpected(): string {
    switch (this.config.type) {
      case 'bearer':
        return 'send an Authorization: Bearer <token> header';
      case 'api-key':
        return 'send an x-api-key header';
      default:
        return 'send an Authorization header';
    }
  }
}
