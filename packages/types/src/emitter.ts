/** Removes the listener it was returned for. Calling it again does nothing. */
export type Unsubscribe = () => void;

/**
 * The one shape of every emitter in EnclaveJS (the broker, its catalog and runtime group, the
 * runtime connection, the stream decoder): `on(event, listener)` adds a listener and returns the
 * function that removes it. `Listeners` maps each event name to its listener's signature, e.g.
 * `{ connect: (worker: string) => void }`.
 */
export interface Emitter<Listeners extends { [Name in keyof Listeners]: (...args: never[]) => unknown }> {
  /** Adds `listener` for `event`; returns the function that removes it. */
  on<Name extends keyof Listeners>(event: Name, listener: Listeners[Name]): Unsubscribe;
}
