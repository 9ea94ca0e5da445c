import { InMemorySessionStore } from '../src/index.js';
import { describeSessionStoreContract } from '../src/testing.js';

describeSessionStoreContract('InMemorySessionStore', {
  create: (options) => new InMemorySessionStore(options),
  // Brokers of one process share the instance itself.
  peer: (store) => store,
});
