import type { Emitter, Unsubscribe } from '@enclave-vm/types';

/**
 * A map from event name to the arguments its listeners receive, e.g.
 * `{ message: [message: Message]; end: [] }`.
 */
export type EventMap = Record<string, unknown[]>;

/** A listener of event `Name` of `Events`. */
export type TypedEventListener<Events extends EventMap, Name extends keyof Events> = (
  ...args: Events[Name]
) => void;

/** The listener signature of each event of `Events`, the shape {@link Emitter} takes. */
export type TypedEventListeners<Events extends EventMap> = {
  [Name in keyof Events]: TypedEventListener<Events, Name>;
};

type ListenerTable<Events extends EventMap> = {
  [Name in keyof Events]?: ReadonlyArray<TypedEventListener<Events, Name>>;
};

/**
 * A minimal typed event emitter that runs in browsers and Node alike (the root entry of this package
 * must not import `node:events`).
 *
 * Listener lists are copied on change rather than mutated, so a listener may add or remove listeners
 * while an event is being emitted without disturbing that emission.
 */
export class TypedEventEmitter<Events extends EventMap> implements Emitter<TypedEventListeners<Events>> {
  private listenerTable: ListenerTable<Events> = {};

  /** Adds `listener` for `event`. Returns the function that removes this registration. */
  on<Name extends keyof Events>(event: Name, listener: TypedEventListener<Events, Name>): Unsubscribe {
    const current = this.listenerTable[event] ?? [];
    this.listenerTable[event] = [...current, listener];
    return this.unsubscriber(event, listener);
  }

  /** Adds `listener` for the next `event` only. Returns the function that removes it before then. */
  once<Name extends keyof Events>(event: Name, listener: TypedEventListener<Events, Name>): Unsubscribe {
    const wrapper: TypedEventListener<Events, Name> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    onceOriginals.set(wrapper, listener);
    return this.on(event, wrapper);
  }

  /**
   * Removes one registration of `listener` for `event` (also one added with {@link once}). Does
   * nothing when it is not registered. Returns this emitter.
   */
  off<Name extends keyof Events>(event: Name, listener: TypedEventListener<Events, Name>): this {
    const current = this.listenerTable[event];
    if (current === undefined) return this;
    const index = current.findIndex(
      (candidate) => candidate === listener || onceOriginals.get(candidate) === listener,
    );
    if (index === -1) return this;
    const remaining = [...current.slice(0, index), ...current.slice(index + 1)];
    if (remaining.length === 0) delete this.listenerTable[event];
    else this.listenerTable[event] = remaining;
    return this;
  }

  // Removes one registration, once: calling the returned function again does nothing.
  private unsubscriber<Name extends keyof Events>(
    event: Name,
    listener: TypedEventListener<Events, Name>,
  ): Unsubscribe {
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.off(event, listener);
    };
  }

  /** The number of listeners registered for `event`. */
  listenerCount(event: keyof Events): number {
    return this.listenerTable[event]?.length ?? 0;
  }

  /**
   * Calls every listener of `event` in registration order and returns whether there was one. Every
   * listener runs even if an earlier one throws; the first exception is then rethrown.
   */
  protected emit<Name extends keyof Events>(event: Name, ...args: Events[Name]): boolean {
    const listeners = this.listenerTable[event];
    if (listeners === undefined) return false;
    if (listeners.length === 1) {
      (listeners[0] as TypedEventListener<Events, Name>)(...args);
      return true;
    }
    let failed = false;
    let failure: unknown;
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
    if (failed) throw failure;
    return true;
  }
}

// Maps a `once` wrapper to the listener it wraps, so that `off(event, listener)` can remove it.
const onceOriginals = new WeakMap<object, unknown>();
