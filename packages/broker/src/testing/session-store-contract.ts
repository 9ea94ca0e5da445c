import { createEvent, EnclaveError, resolveLimits } from '@enclave-vm/types';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../sessions/logged-event.js';
import type { Session } from '../sessions/session.js';
import type { BrokerRequest, SessionFollower, SessionStore } from '../sessions/session-store.js';

/** Options the contract suite creates its stores with. */
export interface ContractStoreOptions {
  /** Entries kept per session log. */
  maxEventLogSize: number;
  /** Ms after `expiresAt` at which a session is removed. */
  expiryGrace: number;
}

/** How the contract suite gets stores of the implementation under test. */
export interface SessionStoreContractTarget {
  /** A new, empty store with its own state (a fresh namespace), not opened yet. */
  create(options: ContractStoreOptions): SessionStore | Promise<SessionStore>;
  /**
   * Another handle on the state of `store`, as a second broker sharing it would hold (for a store
   * that lives in one process, `store` itself).
   */
  peer(store: SessionStore): SessionStore | Promise<SessionStore>;
}

/** Bound on how long the suite waits for something that must eventually happen. */
const EVENTUALLY_MS = 5_000;

/**
 * Registers the vitest suite every {@link SessionStore} must pass: records, the atomic session cap,
 * conditional appends, reads and truncation, subscriptions (exactly once, in order, across
 * handles), removal and expiry. Call it from a test file of your implementation.
 *
 * @example
 * import { describeSessionStoreContract } from '@enclave-vm/broker/testing';
 * describeSessionStoreContract('MyStore', {
 *   create: (options) => new MyStore({ ...options, namespace: randomUUID() }),
 *   peer: (store) => new MyStore({ sameNamespaceAs: store }),
 * });
 */
export function describeSessionStoreContract(name: string, target: SessionStoreContractTarget): void {
  const opened: SessionStore[] = [];

  afterEach(async () => {
    const stores = [...new Set(opened)];
    opened.length = 0;
    await Promise.all(stores.map((store) => store.close()));
  });

  async function storeWith(options: Partial<ContractStoreOptions> = {}): Promise<SessionStore> {
    const store = await target.create({ maxEventLogSize: 100, expiryGrace: 60_000, ...options });
    opened.push(store);
    await store.open();
    return store;
  }

  async function peerOf(store: SessionStore): Promise<SessionStore> {
    const peer = await target.peer(store);
    opened.push(peer);
    await peer.open();
    return peer;
  }

  describe(`SessionStore contract: ${name}`, () => {
    it('stores records as plain data and reads back exactly what was written', async () => {
      const store = await storeWith();
      const session = record({
        user: { userId: 'u1', tenantId: 'acme', permissions: ['run'] },
      });
      expect(await store.createSession(session, { maxActive: 10 })).toBe(true);
      expect(await store.getSession(session.id)).toEqual(session);
      expect(await store.getSession('ses_unknown')).toBeNull();
      const peer = await peerOf(store);
      expect(await peer.getSession(session.id)).toEqual(session);
      await expect(store.open()).resolves.toBeUndefined();
    });

    it('lets exactly maxActive sessions in when handles race for the last slots', async () => {
      const store = await storeWith();
      const peer = await peerOf(store);
      const attempts = Array.from({ length: 20 }, (_, index) =>
        (index % 2 === 0 ? store : peer).createSession(record(), { maxActive: 7 }),
      );
      const created = await Promise.all(attempts);
      expect(created.filter(Boolean)).toHaveLength(7);
    });

    it('frees a slot once a session ends, and counts only pending and running sessions', async () => {
      const store = await storeWith();
      const first = record();
      expect(await store.createSession(first, { maxActive: 1 })).toBe(true);
      expect(await store.createSession(record(), { maxActive: 1 })).toBe(false);
      const done = record({ status: 'completed' });
      expect(await store.createSession(done, { maxActive: 1 })).toBe(true);
      await store.append(first.id, [entry(first.id, 1, 'session_init')]);
      expect(
        await store.append(first.id, [entry(first.id, 2, 'final')], {
          changes: { status: 'completed', result: 1 },
        }),
      ).toBe('appended');
      expect(await store.createSession(record(), { maxActive: 1 })).toBe(true);
    });

    it('appends atomically and only in order, reporting why it did not', async () => {
      const store = await storeWith();
      const session = record();
      await store.createSession(session, { maxActive: 10 });
      const id = session.id;
      expect(await store.append(id, [entry(id, 1, 'session_init'), entry(id, 2, 'stdout')])).toBe('appended');
      expect(await store.append(id, [], { changes: { status: 'running', startedAt: 5 } })).toBe('appended');
      expect(await store.append(id, [entry(id, 1, 'session_init'), entry(id, 2, 'stdout')])).toBe(
        'duplicate',
      );
      expect(await store.append(id, [entry(id, 4, 'stdout')])).toBe('conflict');
      expect(await store.append('ses_missing', [entry('ses_missing', 1, 'session_init')])).toBe('missing');
      const stats = { durationMs: 9, cpuTimeMs: 3, toolCalls: 1, stdoutBytes: 12 };
      expect(
        await store.append(id, [entry(id, 3, 'tool_call')], {
          changes: { pendingToolCalls: ['call_1'], stats },
        }),
      ).toBe('appended');
      const middle = await store.getSession(id);
      expect(middle).toMatchObject({
        status: 'running',
        startedAt: 5,
        lastSeq: 3,
        pendingToolCalls: ['call_1'],
      });
      expect(middle?.stats).toEqual(stats);
      const error = { code: 'CANCELLED', message: 'stop' };
      expect(
        await store.append(id, [entry(id, 4, 'error'), entry(id, 5, 'final')], {
          changes: { status: 'error', completedAt: 7, error, pendingToolCalls: [] },
        }),
      ).toBe('appended');
      expect(await store.append(id, [entry(id, 6, 'heartbeat')])).toBe('ended');
      expect(await store.append(id, [], { changes: { status: 'running' } })).toBe('ended');
      const last = await store.getSession(id);
      expect(last).toMatchObject({
        status: 'error',
        completedAt: 7,
        error,
        lastSeq: 5,
        pendingToolCalls: [],
      });
      const all = await store.readEvents(id, 1);
      expect(all.ok && all.entries.map((logged) => logged.seq)).toEqual([1, 2, 3, 4, 5]);
    });

    it('ends a session exactly once when several handles try at the same moment', async () => {
      const store = await storeWith();
      const peer = await peerOf(store);
      const session = record({ status: 'running' });
      const id = session.id;
      await store.createSession(session, { maxActive: 10 });
      await store.append(id, [entry(id, 1, 'session_init')]);
      const end = (handle: SessionStore, code: string) =>
        handle.append(id, [entry(id, 2, 'error'), entry(id, 3, 'final')], {
          changes: { status: 'error', error: { code, message: code } },
        });
      const outcomes = await Promise.all([end(store, 'FIRST'), end(peer, 'SECOND'), end(store, 'THIRD')]);
      expect(outcomes.filter((outcome) => outcome === 'appended')).toHaveLength(1);
      const range = await peer.readEvents(id, 1);
      expect(range.ok && range.entries.filter((logged) => logged.type === 'final')).toHaveLength(1);
    });

    it('replays entries as written from any seq, and reports the ones the bounded log dropped', async () => {
      const store = await storeWith({ maxEventLogSize: 4 });
      const session = record();
      const id = session.id;
      await store.createSession(session, { maxActive: 10 });
      const sealed: LoggedEvent = {
        seq: 2,
        type: 'stdout',
        event: {
          protocolVersion: '1.0',
          sessionId: id,
          seq: 2,
          ts: 1,
          type: 'encrypted',
          payload: { iv: 'aXY=', ciphertext: 'c2VhbGVk' },
        },
      };
      await store.append(id, [entry(id, 1, 'session_init'), sealed]);
      const early = await store.readEvents(id, 1);
      expect(early.ok && early.entries).toEqual([entry(id, 1, 'session_init'), sealed]);
      expect(await store.readEvents(id, 3)).toEqual({ ok: true, entries: [] });
      for (let seq = 3; seq <= 7; seq++) await store.append(id, [entry(id, seq, 'stdout')]);
      expect(await store.readEvents(id, 1)).toEqual({ ok: false, firstAvailableSeq: 4 });
      expect(await store.readEvents(id, 3)).toEqual({ ok: false, firstAvailableSeq: 4 });
      const kept = await store.readEvents(id, 4);
      expect(kept.ok && kept.entries.map((logged) => logged.seq)).toEqual([4, 5, 6, 7]);
      const tail = await store.readEvents(id, 6);
      expect(tail.ok && tail.entries.map((logged) => logged.seq)).toEqual([6, 7]);
      expect(await store.readEvents('ses_missing', 1)).toEqual({ ok: true, entries: [] });
    });

    it('delivers every entry after the starting seq exactly once, in order, across handles', async () => {
      const store = await storeWith();
      const peer = await peerOf(store);
      const session = record();
      const id = session.id;
      await store.createSession(session, { maxActive: 10 });
      await store.append(id, [entry(id, 1, 'session_init'), entry(id, 2, 'stdout')]);
      const received = collector(peer, id);
      const unsubscribe = await peer.subscribe(id, 1, received.follower);
      const writes: Promise<unknown>[] = [];
      for (let seq = 3; seq <= 40; seq += 2) {
        writes.push(store.append(id, [entry(id, seq, 'stdout'), entry(id, seq + 1, 'log')]));
      }
      await Promise.all(writes);
      await store.append(id, [entry(id, 41, 'final')], { changes: { status: 'completed' } });
      await received.until(41);
      expect(received.seqs).toEqual(range(2, 41));
      expect(received.failures).toEqual([]);
      // Whoever got an entry can read the record as it was once the entry was logged.
      expect(received.lastSeqSeen.every((lastSeq, index) => lastSeq >= (received.seqs[index] ?? 0))).toBe(
        true,
      );
      unsubscribe();
    });

    it('stops delivering after unsubscribe, and a subscription may start past the last entry', async () => {
      const store = await storeWith();
      const session = record();
      const id = session.id;
      await store.createSession(session, { maxActive: 10 });
      await store.append(id, [entry(id, 1, 'session_init')]);
      const stopped = collector(store, id);
      const unsubscribe = await store.subscribe(id, 0, stopped.follower);
      await stopped.until(1);
      unsubscribe();
      const waiting = collector(store, id);
      await store.subscribe(id, 1, waiting.follower);
      await store.append(id, [entry(id, 2, 'stdout')]);
      await waiting.until(2);
      expect(waiting.seqs).toEqual([2]);
      // Nothing more reaches the stopped follower: the entry that the other one got is proof of time.
      expect(stopped.seqs).toEqual([1]);
    });

    it('removes a record and its log on delete, and its followers fail', async () => {
      const store = await storeWith();
      const session = record();
      const id = session.id;
      await store.createSession(session, { maxActive: 10 });
      await store.append(id, [entry(id, 1, 'session_init')]);
      const received = collector(store, id);
      await store.subscribe(id, 1, received.follower);
      await store.deleteSession(id);
      expect(await store.getSession(id)).toBeNull();
      expect(await store.readEvents(id, 1)).toEqual({ ok: true, entries: [] });
      await received.untilFailed();
      expect(received.failures[0]).toBeInstanceOf(EnclaveError);
    });

    it('carries requests between brokers and their replies, and reports a broker that is not listening', async () => {
      const store = await storeWith();
      const peer = await peerOf(store);
      const first = brokerId('first');
      const second = brokerId('second');
      const seen: BrokerRequest[] = [];
      const membership = await store.join(first, {
        leaseMs: 60_000,
        onRequest: async (request) => {
          seen.push(request);
          return request.type === 'cancel'
            ? { ok: true }
            : { ok: false, error: { code: 'TOOL_CALL_NOT_FOUND', message: `no ${request.callId}` } };
        },
      });
      const other = await peer.join(second, { leaseMs: 60_000, onRequest: async () => ({ ok: true }) });
      expect(other.brokerId).toBe(second);
      const cancel: BrokerRequest = { type: 'cancel', sessionId: 'ses_a' };
      expect(await other.request(first, cancel, 5_000)).toEqual({ ok: true });
      const answer: BrokerRequest = {
        type: 'tool-result',
        sessionId: 'ses_a',
        callId: 'call_7',
        answer: { kind: 'sealed', sealed: { counter: 1, iv: 'aXY=', ciphertext: 'c2VhbGVk' } },
      };
      expect(await other.request(first, answer, 5_000)).toEqual({
        ok: false,
        error: { code: 'TOOL_CALL_NOT_FOUND', message: 'no call_7' },
      });
      expect(seen).toEqual([cancel, answer]);
      expect(await membership.request(second, cancel, 5_000)).toEqual({ ok: true });
      await expect(other.request(brokerId('nobody'), cancel, 5_000)).rejects.toMatchObject({
        code: 'BROKER_LOST',
      });
      await membership.leave();
      await expect(other.request(first, cancel, 5_000)).rejects.toMatchObject({ code: 'BROKER_LOST' });
    });

    it('reports a broker whose lease lapsed with the sessions it owns, and forgets it once they ended', async () => {
      const store = await storeWith();
      const peer = await peerOf(store);
      const lost = brokerId('lost');
      const alive = brokerId('alive');
      await store.join(lost, { leaseMs: 300, onRequest: async () => ({ ok: true }) });
      const living = await peer.join(alive, { leaseMs: 300, onRequest: async () => ({ ok: true }) });
      const owned = record({ owner: lost, status: 'running' });
      const ended = record({ owner: lost, status: 'running' });
      const theirs = record({ owner: alive, status: 'running' });
      for (const session of [owned, ended, theirs]) await store.createSession(session, { maxActive: 10 });
      await store.append(ended.id, [entry(ended.id, 1, 'final')], { changes: { status: 'completed' } });
      expect(await store.lostBrokers()).not.toContain(lost);
      const deadline = Date.now() + EVENTUALLY_MS;
      while (!(await peer.lostBrokers()).includes(lost)) {
        if (Date.now() > deadline) throw new Error('the lapsed lease was never reported');
        await living.renew();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await peer.lostBrokers()).not.toContain(alive);
      expect(await peer.sessionsOwnedBy(lost, 10)).toEqual([owned.id]);
      expect(await peer.sessionsOwnedBy(alive, 10)).toEqual([theirs.id]);
      expect(await peer.forgetBroker(lost)).toBe(false);
      expect(await peer.forgetBroker(alive)).toBe(false);
      await peer.append(owned.id, [entry(owned.id, 1, 'error'), entry(owned.id, 2, 'final')], {
        changes: { status: 'error', error: { code: 'BROKER_LOST', message: 'lost' } },
      });
      expect(await peer.sessionsOwnedBy(lost, 10)).toEqual([]);
      expect(await peer.forgetBroker(lost)).toBe(true);
      expect(await store.lostBrokers()).not.toContain(lost);
    });

    it('lets a leaving broker go at once, or be reported lost when it leaves sessions behind', async () => {
      const store = await storeWith();
      const clean = brokerId('clean');
      const careless = brokerId('careless');
      const cleanMembership = await store.join(clean, {
        leaseMs: 60_000,
        onRequest: async () => ({ ok: true }),
      });
      const carelessMembership = await store.join(careless, {
        leaseMs: 60_000,
        onRequest: async () => ({ ok: true }),
      });
      const left = record({ owner: careless, status: 'running' });
      await store.createSession(left, { maxActive: 10 });
      await cleanMembership.leave();
      await carelessMembership.leave();
      const lost = await store.lostBrokers();
      expect(lost).not.toContain(clean);
      expect(lost).toContain(careless);
      expect(await store.sessionsOwnedBy(careless, 10)).toEqual([left.id]);
    });

    it('removes a session once its expiry and grace have passed, and it no longer counts', async () => {
      const store = await storeWith({ expiryGrace: 100 });
      const session = record({ expiresAt: Date.now() + 100 });
      await store.createSession(session, { maxActive: 1 });
      await store.append(session.id, [entry(session.id, 1, 'session_init')]);
      expect(await store.getSession(session.id)).not.toBeNull();
      const deadline = Date.now() + EVENTUALLY_MS;
      while ((await store.getSession(session.id)) !== null) {
        if (Date.now() > deadline) throw new Error('the session was never removed');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(await store.readEvents(session.id, 1)).toEqual({ ok: true, entries: [] });
      expect(await store.createSession(record(), { maxActive: 1 })).toBe(true);
    });
  });
}

let counter = 0;

/** A broker id unique to this run. */
function brokerId(name: string): string {
  counter++;
  return `brk_${name}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

/** A fresh pending session record. */
function record(overrides: Partial<Session> = {}): Session {
  counter++;
  const now = Date.now();
  return {
    id: `ses_${process.pid.toString(16)}${now.toString(16)}${counter.toString(16).padStart(8, '0')}`,
    status: 'pending',
    createdAt: now,
    expiresAt: now + 60_000,
    securityLevel: 'STANDARD',
    limits: resolveLimits('STANDARD', {}),
    lastSeq: 0,
    stats: { durationMs: 0, cpuTimeMs: 0, toolCalls: 0, stdoutBytes: 0 },
    pendingToolCalls: [],
    ...overrides,
  };
}

/** A plain log entry of a given type (payloads are not checked by stores). */
function entry(sessionId: string, seq: number, type: LoggedEvent['type']): LoggedEvent {
  const event = createEvent(sessionId, seq, 'stdout', { chunk: `${type} ${seq}` });
  return { seq, type, event: { ...event, ts: seq } };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/** A follower that records what it gets, reading the record at each entry. */
function collector(store: SessionStore, sessionId: string) {
  const seqs: number[] = [];
  const lastSeqSeen: number[] = [];
  const failures: unknown[] = [];
  const reads: Promise<void>[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const follower: SessionFollower = {
    next(logged) {
      seqs.push(logged.seq);
      const index = seqs.length - 1;
      reads.push(
        store.getSession(sessionId).then((session) => {
          lastSeqSeen[index] = session?.lastSeq ?? -1;
        }),
      );
      notify();
    },
    fail(error) {
      failures.push(error);
      notify();
    },
  };
  const waitFor = (done: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what} never came (got ${seqs.join(', ')})`));
      }, EVENTUALLY_MS);
      waiters.add(check);
      check();
    });
  return {
    follower,
    seqs,
    lastSeqSeen,
    failures,
    async until(seq: number) {
      await waitFor(() => seqs.includes(seq), `seq ${seq}`);
      await Promise.all(reads);
    },
    untilFailed: () => waitFor(() => failures.length > 0, 'a failure'),
  };
}
