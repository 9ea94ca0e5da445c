import { createEngineInstance, type EngineInstance, MINIMUM_INSTANCE_BYTES } from './engine-instance.js';
import { Sandbox } from './sandbox.js';

const MiB = 1024 * 1024;

/** Options of a {@link SandboxProvider}. */
export interface SandboxProviderOptions {
  /**
   * Sandboxes kept ready (instance instantiated, session context created, bridge evaluated), so a
   * session starts without paying for them.
   * @default 2
   */
  warmInstances?: number;
  /**
   * Hard memory cap of the instances created ahead of time, in bytes. A session whose
   * `memoryLimit` is larger gets an instance of its own, created on demand.
   * @default 134217728 (128 MiB, the largest preset)
   */
  instanceMemoryMaximum?: number;
  /**
   * Instances kept for reuse beyond the ready sandboxes, so that a burst of sessions does not pay
   * for instantiation again (each costs about half a MB of RSS).
   * @default 32
   */
  maxIdleInstances?: number;
  /**
   * An instance whose memory grew beyond this many bytes is dropped after its session rather than
   * reused, which returns the memory to the system.
   * @default 50331648 (48 MiB)
   */
  recycleAboveBytes?: number;
  /**
   * Sessions one instance serves before it is replaced (bounds heap fragmentation).
   * @default 1000
   */
  maxSessionsPerInstance?: number;
}

/**
 * The per-thread supply of sandboxes: keeps a few ready, reuses healthy instances, drops instances
 * that hit a memory limit, a stack problem or a host failure (never reused), and refills in the
 * background (on `setImmediate`, after the current work).
 */
export class SandboxProvider {
  private readonly warmInstances: number;
  private readonly instanceMemoryMaximum: number;
  private readonly maxIdleInstances: number;
  private readonly recycleAboveBytes: number;
  private readonly maxSessionsPerInstance: number;
  private readonly ready: Sandbox[] = [];
  private readonly idle: EngineInstance[] = [];
  private creating = 0;
  private refillScheduled = false;
  private closed = false;

  /** Creates a provider; call {@link prewarm} to fill it before the first session. */
  constructor(options: SandboxProviderOptions = {}) {
    this.warmInstances = Math.max(0, options.warmInstances ?? 2);
    this.instanceMemoryMaximum = Math.max(MINIMUM_INSTANCE_BYTES, options.instanceMemoryMaximum ?? 128 * MiB);
    this.maxIdleInstances = Math.max(0, options.maxIdleInstances ?? 32);
    this.recycleAboveBytes = options.recycleAboveBytes ?? 48 * MiB;
    this.maxSessionsPerInstance = Math.max(1, options.maxSessionsPerInstance ?? 1000);
  }

  /** Ready sandboxes right now. */
  get readyCount(): number {
    return this.ready.length;
  }

  /** Fills the ready sandboxes (resolves once they exist). */
  async prewarm(): Promise<void> {
    while (!this.closed && this.ready.length < this.warmInstances) {
      const instance = this.idle.pop() ?? (await this.newInstance(this.instanceMemoryMaximum));
      if (this.closed) {
        instance.dispose();
        return;
      }
      this.ready.push(new Sandbox(instance));
    }
  }

  /** A ready sandbox able to honour `memoryLimit`, if one is available now (no waiting). */
  takeReady(memoryLimit: number): Sandbox | undefined {
    for (let index = this.ready.length - 1; index >= 0; index--) {
      const sandbox = this.ready[index] as Sandbox;
      if (fits(sandbox.instance, memoryLimit)) {
        this.ready.splice(index, 1);
        this.scheduleRefill();
        return this.prepare(sandbox, memoryLimit);
      }
    }
    return undefined;
  }

  /** A sandbox able to honour `memoryLimit`: a ready one, or one built on an idle or new instance. */
  async acquire(memoryLimit: number): Promise<Sandbox> {
    const ready = this.takeReady(memoryLimit);
    if (ready !== undefined) return ready;
    const index = this.idle.findIndex((instance) => fits(instance, memoryLimit));
    const instance =
      index >= 0
        ? (this.idle.splice(index, 1)[0] as EngineInstance)
        : await this.newInstance(Math.max(memoryLimit, this.instanceMemoryMaximum));
    this.scheduleRefill();
    return this.prepare(new Sandbox(instance), memoryLimit);
  }

  /**
   * Returns a sandbox after its session. Its context is freed; the instance is kept for reuse only
   * when the session ended cleanly (`reusable`) and the instance is healthy: not poisoned, memory
   * not exhausted, no queued jobs, not grown past `recycleAboveBytes`, not worn out.
   */
  release(sandbox: Sandbox, reusable: boolean): void {
    const instance = sandbox.instance;
    const keep =
      reusable &&
      !this.closed &&
      !sandbox.poisoned &&
      instance.healthy &&
      !instance.memoryExhausted &&
      !sandbox.hasPendingJobs() &&
      instance.byteLength <= this.recycleAboveBytes &&
      instance.sessionsServed < this.maxSessionsPerInstance;
    sandbox.dispose();
    if (!keep || sandbox.poisoned) {
      // Never call into an instance that may be inconsistent: drop it and let the GC take its memory.
      if (!sandbox.poisoned && !instance.memoryExhausted && !sandbox.hasPendingJobs()) instance.dispose();
      instance.healthy = false;
    } else if (this.idle.length < this.maxIdleInstances) {
      this.idle.push(instance);
    } else {
      instance.dispose();
    }
    this.scheduleRefill();
  }

  /** Drops every ready sandbox and idle instance; later releases drop their instance. */
  close(): void {
    this.closed = true;
    for (const sandbox of this.ready.splice(0)) {
      sandbox.dispose();
      sandbox.instance.dispose();
    }
    for (const instance of this.idle.splice(0)) instance.dispose();
  }

  private prepare(sandbox: Sandbox, memoryLimit: number): Sandbox {
    sandbox.instance.setMemoryLimit(memoryLimit);
    sandbox.instance.sessionsServed += 1;
    return sandbox;
  }

  private async newInstance(maximumBytes: number): Promise<EngineInstance> {
    this.creating += 1;
    try {
      return await createEngineInstance(maximumBytes);
    } finally {
      this.creating -= 1;
    }
  }

  private scheduleRefill(): void {
    if (this.refillScheduled || this.closed || this.ready.length >= this.warmInstances) return;
    this.refillScheduled = true;
    setImmediate(() => {
      this.refillScheduled = false;
      this.refill();
    });
  }

  private refill(): void {
    if (this.closed) return;
    // One sandbox per turn of the event loop, so that messages waiting for this thread go first.
    if (this.ready.length >= this.warmInstances) return;
    const instance = this.idle.pop();
    if (instance !== undefined) {
      this.ready.push(new Sandbox(instance));
      this.scheduleRefill();
      return;
    }
    if (this.creating > 0) return;
    void this.newInstance(this.instanceMemoryMaximum).then(
      (created) => {
        if (this.closed) {
          created.dispose();
          return;
        }
        this.idle.push(created);
        this.scheduleRefill();
      },
      () => {
        // Instantiation failed (no memory): try again on the next release rather than spin.
      },
    );
  }
}

function fits(instance: EngineInstance, memoryLimit: number): boolean {
  return (
    instance.maximumBytes >= memoryLimit &&
    instance.byteLength <= Math.max(memoryLimit, MINIMUM_INSTANCE_BYTES)
  );
}
