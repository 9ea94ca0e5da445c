// Brokers sharing one redis-server, for the cluster tests (not a test file itself).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type BrokerOptions, EnclaveBroker } from '../src/index.js';
import { PACKAGE_ROOT, type RunningScript, startScript } from './example-helpers.js';
import type { TestBroker } from './http-test-helpers.js';

/** A broker listening on port 0 with its own ioredis client, as a broker process would have. */
export interface ClusterBroker extends TestBroker {
  readonly redis: Redis;
}

/** Brokers of one cluster: each on its own port, all on one Redis and one key prefix. */
export interface Cluster extends AsyncDisposable {
  readonly brokers: ClusterBroker[];
  readonly keyPrefix: string;
  close(): Promise<void>;
}

/**
 * Starts `count` brokers (a one-thread embedded pool each) on `redisUrl`, under a key prefix of
 * their own so that tests sharing a server never meet.
 */
export async function startCluster(
  redisUrl: string,
  count: number,
  options: BrokerOptions = {},
): Promise<Cluster> {
  const keyPrefix = `test:${randomUUID().slice(0, 8)}:`;
  const brokers: ClusterBroker[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(brokers.map((broker) => broker.close()));
  };
  try {
    for (let index = 0; index < count; index++)
      brokers.push(await startClusterBroker(redisUrl, keyPrefix, options));
  } catch (error) {
    await close();
    throw error;
  }
  return { brokers, keyPrefix, close, [Symbol.asyncDispose]: close };
}

/** One more broker of a cluster. */
export async function startClusterBroker(
  redisUrl: string,
  keyPrefix: string,
  options: BrokerOptions = {},
): Promise<ClusterBroker> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  const broker = new EnclaveBroker({ poolSize: 1, sessionTimeout: 30_000, keyPrefix, redis, ...options });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= broker.close().finally(() => redis.disconnect());
    return closed;
  };
  try {
    await broker.listen(0);
  } catch (error) {
    await close();
    throw error;
  }
  const { port } = broker.address();
  return { broker, redis, url: `http://127.0.0.1:${port}`, close, [Symbol.asyncDispose]: close };
}

/** Waits until `check` holds, polling; fails after `timeoutMs` with `what`. */
export async function eventually<Value>(
  check: () => Promise<Value | undefined | false> | Value | undefined | false,
  what: string,
  timeoutMs = 15_000,
): Promise<Value> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A broker running as its own process (test/fixtures/cluster-broker.ts). */
export interface BrokerProcess {
  readonly script: RunningScript;
  readonly url: string;
  readonly id: string;
}

/** Starts a broker process on `redisUrl` under `keyPrefix`. */
export async function startBrokerProcess(
  redisUrl: string,
  keyPrefix: string,
  leaseTimeout = 5000,
): Promise<BrokerProcess> {
  const script = startScript(
    ['--import', 'tsx', join(PACKAGE_ROOT, 'test', 'fixtures', 'cluster-broker.ts')],
    PACKAGE_ROOT,
    {
      REDIS_URL: redisUrl,
      KEY_PREFIX: keyPrefix,
      LEASE_TIMEOUT: String(leaseTimeout),
    },
  );
  const [, port, id] = await script.waitForLine(/^listening (\d+) (brk_\w+)$/);
  return { script, url: `http://127.0.0.1:${port}`, id: id ?? '' };
}
