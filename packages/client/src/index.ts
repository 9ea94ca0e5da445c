/**
 * Version of the `@enclave-vm/client` package. The package is filled in by a later milestone;
 * until then this is its only export.
 */
export const VERSION = '0.1.0';
