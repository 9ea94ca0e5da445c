import { EnclaveError, type EventType, type StreamEvent } from '@enclave-vm/types';
import { afterEach } from 'vitest';
import { createBroker } from '../src/create-broker.js';
import type { EnclaveBroker } from '../src/enclave-broker.js';
import type { BrokerOptions } from '../src/options/broker-options.js';

const openBrokers = new Set<EnclaveBroker>();

afterEach(async () => {
  const brokers = [...openBrokers];
  openBrokers.clear();
  await Promise.all(brokers.map((broker) => broker.close()));
});

/** A broker on a one-thread embedded pool, closed after the test. */
export function testBroker(options: BrokerOptions = {}): EnclaveBroker {
  const broker = createBroker({ poolSize: 1, ...options });
  openBrokers.add(broker);
  return broker;
}

/** Every event of an iteration. */
export async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const collected: StreamEvent[] = [];
  for await (const event of events) collected.push(event);
  return collected;
}

/** The types of events, in order. */
export function typesOf(events: readonly StreamEvent[]): EventType[] {
  return events.map((event) => event.type);
}

/** The first event of a type, failing the test when there is none. */
export function eventOf<Type extends EventType>(
  events: readonly StreamEvent[],
  type: Type,
): Extract<StreamEvent, { type: Type }> {
  const event = events.find((candidate) => candidate.type === type);
  if (event === undefined) throw new Error(`no ${type} event among ${typesOf(events).join(', ')}`);
  return event as Extract<StreamEvent, { type: Type }>;
}

/** Reads events until one matches, without ending the iteration's session; returns those read. */
export async function readUntil(
  iterator: AsyncIterator<StreamEvent>,
  predicate: (event: StreamEvent) => boolean,
): Promise<StreamEvent[]> {
  const read: StreamEvent[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done === true)
      throw new Error(`the stream ended before the awaited event (${typesOf(read).join(', ')})`);
    read.push(next.value);
    if (predicate(next.value)) return read;
  }
}

/** The EnclaveError a promise rejects with. */
export async function rejectionOf(promise: Promise<unknown>): Promise<EnclaveError> {
  try {
    await promise;
  } catch (error) {
    if (EnclaveError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the promise to reject');
}

/** The EnclaveError thrown by an action. */
export function thrownBy(action: () => unknown): EnclaveError {
  try {
    action();
  } catch (error) {
    if (EnclaveError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the action to throw');
}

/** Asserts the seqs run 1, 2, 3, … with no gap or repeat. */
export function seqsAreContiguous(events: readonly StreamEvent[], from = 1): boolean {
  return events.every((event, index) => event.seq === from + index);
}
