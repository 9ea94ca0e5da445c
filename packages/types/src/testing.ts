/**
 * `@enclave-vm/types/testing`: one valid example of every event, runtime-channel message and HTTP
 * body, for the tests of the packages that produce or read them (and for tests of code built on
 * EnclaveJS). Kept out of the main entry so that applications do not ship them.
 */
export { CHANNEL_FIXTURES, EVENT_FIXTURES, HTTP_FIXTURES } from './fixtures.js';
