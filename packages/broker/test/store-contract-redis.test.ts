import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisSessionStore } from '../src/index.js';
import { describeSessionStoreContract } from '../src/testing.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  client = new Redis(server.url, { lazyConnect: true });
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describeSessionStoreContract('RedisSessionStore', {
  // Each store gets its own key prefix: a namespace of its own on the shared server.
  create: (options) =>
    new RedisSessionStore({
      redis: client,
      keyPrefix: `contract:${randomUUID()}:`,
      logger: quiet,
      ...options,
    }),
  peer: (store) => {
    const redisStore = store as RedisSessionStore;
    return new RedisSessionStore({
      redis: client,
      keyPrefix: redisStore.keyPrefix,
      maxEventLogSize: redisStore.maxEventLogSize,
      expiryGrace: redisStore.expiryGrace,
      logger: quiet,
    });
  },
});
