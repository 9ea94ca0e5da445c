import type { EngineInstance } from './engine-instance.js';
import { EngineTemplate } from './engine-template.js';
import { MemoryImage } from './memory-image.js';
import { MINIMUM_INSTANCE_BYTES } from './memory-layout.js';
import { MemorySlot } from './memory-slot.js';
import { Sandbox } from './sandbox.js';

const MiB = 1024 * 1024;

/** Stack bytes wiped beyond a session's stack limit (C frames the limit does not count). */
const STACK_WIPE_MARGIN = 128 * 1024;

/** Options of a {@link SandboxProvider}. */
export interface SandboxProviderOptions {
  /**
   * Sandboxes kept ready (a fresh instance, its session context and bridge prepared), so a session
   * starts without waiting for one.
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
   * Wiped memories kept for the next instances (a new memory costs a page fault for each page an
   * instance touches; a wiped one does not).
   * @default 8
   */
  maxIdleMemories?: number;
  /**
   * A memory that grew beyond this many bytes is dropped after its session instead of being wiped
   * and recycled, which returns it to the system.
   * @default 50331648 (48 MiB)
   */
  recycleAboveBytes?: number;
  /**
   * Opt-in reuse: how many sessions one engine instance may serve in turn, each in a fresh context,
   * provided they share an `isolationKey` (the broker would use the tenant). Sessions without a key
   * always get a fresh instance. Reuse saves creating instances, not time: the sandbox's setup runs
   * again in each new context, which measures slower than cloning a prepared instance
   * (docs/benchmarks.md). It gives up the "no residue" guarantee between the sessions of one key: a
   * session running later in the same instance runs in memory an earlier one used. See
   * docs/security.md before turning it on.
   * @default 1 (a fresh instance for every session)
   */
  sessionsPerInstance?: number;
  /**
   * A session that has waited this long on its tool calls (a person answering a client tool, an
   * approval, a slow service) is parked: the pages of its memory that differ from the template are
   * compressed (about 70 KiB for a typical paused session) and its engine instance is dropped, which
   * frees the 0.6–0.7 MiB it held. The next tool result restores it into a fresh instance, about a
   * millisecond later than it would have reached a live one. `Infinity` never parks.
   * @default 1000
   */
  parkAfterMs?: number;
}

/**
 * A session's sandbox while it is parked (see {@link SandboxProviderOptions.parkAfterMs}): its
 * memory image and what the host knows of it besides its memory.
 */
export interface ParkedSandbox {
  /** The pages of its memory that differ from the template's, compressed. */
  readonly image: MemoryImage;
  /** Its session's memory limit. */
  readonly memoryLimit: number;
  /** Guest CPU time it had used. */
  readonly guestTimeMs: number;
  /** Its instance's deepest stack limit (how much stack a wipe must cover). */
  readonly largestStackSize: number;
}

interface Waiter {
  memoryLimit: number;
  isolationKey: string | undefined;
  resolve: (sandbox: Sandbox) => void;
  reject: (error: unknown) => void;
  cancelled: boolean;
}

/** A pending {@link SandboxProvider.acquire}: cancel it when the session it was for has ended. */
export interface SandboxRequest {
  /** Resolves with the sandbox (never after a cancel). */
  readonly sandbox: Promise<Sandbox>;
  /** Drops the request; no instance is built for it any more. */
  cancel(): void;
}

/**
 * The per-thread supply of sandboxes. Every session gets a fresh engine instance cloned from the
 * thread's {@link EngineTemplate} onto a wiped (or new) memory; a few are cloned ahead of time, in
 * the background (on `setImmediate`, after the current work), so a session starts at once. After a
 * session the instance is dropped and its memory wiped for the next one. Requests wait in order,
 * and a request cancelled (its session ended first) costs nothing.
 */
export class SandboxProvider {
  private readonly warmInstances: number;
  private readonly instanceMemoryMaximum: number;
  private readonly maxIdleMemories: number;
  private readonly recycleAboveBytes: number;
  private readonly sessionsPerInstance: number;
  /** See {@link SandboxProviderOptions.parkAfterMs}. */
  readonly parkAfterMs: number;
  private restoring = 0;
  private parks = 0;
  private restores = 0;
  private parkedNow = 0;
  /** Told the number of sessions parked right now whenever it changes (the pool publishes it). */
  onParkedChange: ((count: number) => void) | undefined;
  private template: EngineTemplate | undefined;
  private templatePromise: Promise<EngineTemplate> | undefined;
  private readonly ready: Sandbox[] = [];
  private readonly idleMemories: MemorySlot[] = [];
  private readonly reusable = new Map<string, EngineInstance[]>();
  private readonly waiters: Waiter[] = [];
  private cloning = 0;
  private refillScheduled = false;
  private waitersScheduled = false;
  private closed = false;

  /** Creates a provider; call {@link prewarm} to fill it before the first session. */
  constructor(options: SandboxProviderOptions = {}) {
    this.warmInstances = Math.max(0, options.warmInstances ?? 2);
    this.instanceMemoryMaximum = Math.max(MINIMUM_INSTANCE_BYTES, options.instanceMemoryMaximum ?? 128 * MiB);
    this.maxIdleMemories = Math.max(0, options.maxIdleMemories ?? 8);
    this.recycleAboveBytes = options.recycleAboveBytes ?? 48 * MiB;
    this.sessionsPerInstance = Math.max(1, Math.floor(options.sessionsPerInstance ?? 1));
    this.parkAfterMs = Math.max(0, options.parkAfterMs ?? 1000);
  }

  /** Ready sandboxes right now. */
  get readyCount(): number {
    return this.ready.length;
  }

  /** Sessions parked so far (see {@link SandboxProviderOptions.parkAfterMs}). */
  get parkedCount(): number {
    return this.parks;
  }

  /** Sessions parked right now: parked and neither restored nor ended since. */
  get parkedSessions(): number {
    return this.parkedNow;
  }

  /** Parked sessions restored so far. */
  get restoredCount(): number {
    return this.restores;
  }

  /** Wiped memories waiting for an instance. */
  get idleMemoryCount(): number {
    return this.idleMemories.length;
  }

  /** Whether sandboxes are being prepared, or are about to be (the thread should not block now). */
  get hasPendingWork(): boolean {
    return (
      this.refillScheduled ||
      this.waitersScheduled ||
      this.cloning > 0 ||
      this.restoring > 0 ||
      this.waiters.length > 0
    );
  }

  /** The thread's template, once built. */
  get engineTemplate(): EngineTemplate | undefined {
    return this.template;
  }

  /** Builds the template and fills the ready sandboxes (resolves once they exist). */
  async prewarm(): Promise<void> {
    const template = await this.loadTemplate();
    while (!this.closed && this.ready.length < this.warmInstances) {
      const sandbox = await template.clone(this.takeMemory(template, this.instanceMemoryMaximum));
      if (this.closed) {
        this.drop(sandbox.instance);
        return;
      }
      this.ready.push(sandbox);
    }
  }

  /**
   * A ready sandbox able to honour `memoryLimit`, if one is available now (no waiting). With
   * opted-in reuse and an `isolationKey`, an instance that served that key may be used again.
   */
  takeReady(memoryLimit: number, isolationKey?: string): Sandbox | undefined {
    const reused = this.takeReusable(memoryLimit, isolationKey);
    if (reused !== undefined) return reused;
    for (let index = this.ready.length - 1; index >= 0; index--) {
      const sandbox = this.ready[index] as Sandbox;
      if (sandbox.instance.maximumBytes >= memoryLimit) {
        this.ready.splice(index, 1);
        this.scheduleRefill();
        return this.prepare(sandbox, memoryLimit);
      }
    }
    return undefined;
  }

  /** A sandbox able to honour `memoryLimit`: a ready one now, or the next one built, in request order. */
  acquire(memoryLimit: number, isolationKey?: string): SandboxRequest {
    const ready = this.takeReady(memoryLimit, isolationKey);
    if (ready !== undefined) return { sandbox: Promise.resolve(ready), cancel: () => undefined };
    let waiter!: Waiter;
    const sandbox = new Promise<Sandbox>((resolve, reject) => {
      waiter = { memoryLimit, isolationKey, resolve, reject, cancelled: false };
    });
    this.waiters.push(waiter);
    this.serveWaiters();
    return {
      sandbox,
      cancel: () => {
        waiter.cancelled = true;
      },
    };
  }

  /**
   * Returns a sandbox after its session. Its instance is dropped and its memory wiped and recycled,
   * unless reuse was opted into, the session had an isolation key and ended cleanly (`reusable`),
   * and the instance is healthy and has sessions left.
   */
  release(sandbox: Sandbox, reusable: boolean, isolationKey?: string): void {
    const instance = sandbox.instance;
    const keep =
      reusable &&
      isolationKey !== undefined &&
      this.sessionsPerInstance > 1 &&
      !this.closed &&
      !sandbox.poisoned &&
      instance.healthy &&
      !instance.memoryExhausted &&
      !sandbox.hasPendingJobs() &&
      instance.byteLength <= this.recycleAboveBytes &&
      instance.sessionsServed < this.sessionsPerInstance;
    sandbox.dispose();
    if (keep) {
      const instances = this.reusable.get(isolationKey) ?? [];
      instances.push(instance);
      this.reusable.set(isolationKey, instances);
    } else {
      this.drop(instance);
    }
    this.scheduleRefill();
  }

  /**
   * Parks the sandbox of a session that waits on its tool calls: keeps the image of its memory and
   * drops its instance (its memory is wiped and recycled like any other). Returns `undefined`, and
   * leaves the sandbox as it was, when it cannot be parked: it is not the context of a fresh clone
   * of this thread's template (opt-in reuse), its memory has grown past the module's initial size
   * (the image covers that size only), or it is unhealthy or has jobs queued.
   */
  park(sandbox: Sandbox, memoryLimit: number): ParkedSandbox | undefined {
    const template = this.template;
    const instance = sandbox.instance;
    if (
      template === undefined ||
      this.closed ||
      sandbox.poisoned ||
      sandbox.inGuest ||
      !instance.healthy ||
      instance.memoryExhausted ||
      instance.byteLength !== MINIMUM_INSTANCE_BYTES ||
      !template.prepared(sandbox) ||
      sandbox.hasPendingJobs()
    ) {
      return undefined;
    }
    const { pages, bytes } = template.differingPages(instance.slot.memory.buffer);
    const parked: ParkedSandbox = {
      image: new MemoryImage(pages, bytes),
      memoryLimit,
      guestTimeMs: sandbox.guestTimeMs,
      largestStackSize: instance.largestStackSize,
    };
    // Nothing calls into the instance again: its context is not freed one by one, the instance goes.
    sandbox.abandon();
    this.drop(instance);
    this.parks += 1;
    this.changeParked(1);
    this.scheduleRefill();
    return parked;
  }

  /**
   * The parked session's sandbox again, in a new instance of this thread's template on a wiped or
   * new memory, with the session's memory written back: its guest resumes where it waited.
   */
  async unpark(parked: ParkedSandbox): Promise<Sandbox> {
    this.changeParked(-1);
    this.restoring += 1;
    try {
      const template = await this.loadTemplate();
      if (this.closed) throw new Error('The sandbox provider is closed');
      const slot = this.takeMemory(template, Math.max(parked.memoryLimit, this.instanceMemoryMaximum));
      const sandbox = await template.restore(parked.image, slot);
      sandbox.guestTimeMs = parked.guestTimeMs;
      sandbox.instance.largestStackSize = parked.largestStackSize;
      this.restores += 1;
      return this.prepare(sandbox, parked.memoryLimit);
    } finally {
      this.restoring -= 1;
    }
  }

  /** Forgets a parked session that ended without being restored (cancelled, timed out). */
  discard(): void {
    this.changeParked(-1);
  }

  private changeParked(delta: number): void {
    this.parkedNow += delta;
    this.onParkedChange?.(this.parkedNow);
  }

  /** Drops every ready sandbox, idle memory and reusable instance; later releases drop theirs. */
  close(): void {
    this.closed = true;
    for (const sandbox of this.ready.splice(0)) this.drop(sandbox.instance);
    for (const instances of this.reusable.values()) for (const instance of instances) this.drop(instance);
    this.reusable.clear();
    this.idleMemories.length = 0;
    for (const waiter of this.waiters.splice(0)) {
      if (!waiter.cancelled) waiter.reject(new Error('The sandbox provider is closed'));
    }
  }

  private loadTemplate(): Promise<EngineTemplate> {
    this.templatePromise ??= EngineTemplate.create().then((template) => {
      this.template = template;
      return template;
    });
    return this.templatePromise;
  }

  private takeReusable(memoryLimit: number, isolationKey: string | undefined): Sandbox | undefined {
    if (isolationKey === undefined || this.sessionsPerInstance <= 1) return undefined;
    const instances = this.reusable.get(isolationKey);
    if (instances === undefined) return undefined;
    while (instances.length > 0) {
      const instance = instances.pop() as EngineInstance;
      if (instances.length === 0) this.reusable.delete(isolationKey);
      if (instance.maximumBytes < memoryLimit) {
        this.drop(instance);
        continue;
      }
      return this.prepare(new Sandbox(instance), memoryLimit);
    }
    return undefined;
  }

  private prepare(sandbox: Sandbox, memoryLimit: number): Sandbox {
    sandbox.instance.setMemoryLimit(memoryLimit);
    sandbox.instance.sessionsServed += 1;
    return sandbox;
  }

  /**
   * A wiped memory of the standard cap, or a new one (larger caps are never recycled). Memories are
   * made larger by the template's reserved block, so sessions get their whole limit.
   */
  private takeMemory(template: EngineTemplate, maximumBytes: number): MemorySlot {
    if (maximumBytes <= this.instanceMemoryMaximum) {
      const recycled = this.idleMemories.pop();
      if (recycled !== undefined) return recycled;
    }
    return new MemorySlot(Math.max(maximumBytes, this.instanceMemoryMaximum) + template.reservedBytes);
  }

  /**
   * Drops an instance: nothing calls into it again; its memory is wiped and kept for the next
   * instance (unless it grew large, has a larger cap than the standard one, or enough are kept).
   */
  private drop(instance: EngineInstance): void {
    instance.healthy = false;
    instance.owner = undefined;
    const slot = instance.slot;
    slot.owner = undefined;
    const template = this.template;
    if (
      template === undefined ||
      this.closed ||
      instance.maximumBytes < this.instanceMemoryMaximum ||
      instance.maximumBytes > Math.max(this.instanceMemoryMaximum, MINIMUM_INSTANCE_BYTES) + 65_536 ||
      slot.byteLength > this.recycleAboveBytes ||
      this.idleMemories.length >= this.maxIdleMemories
    ) {
      return;
    }
    slot.wipe(template.layout, template.extent, instance.largestStackSize + STACK_WIPE_MARGIN);
    this.idleMemories.push(slot);
  }

  /** Builds sandboxes for waiting requests, one at a time, oldest first, skipping cancelled ones. */
  private serveWaiters(): void {
    if (this.cloning > 0 || this.closed) return;
    while (this.waiters.length > 0 && (this.waiters[0] as Waiter).cancelled) this.waiters.shift();
    const waiter = this.waiters[0];
    if (waiter === undefined) {
      this.scheduleRefill();
      return;
    }
    const reused = this.takeReady(waiter.memoryLimit, waiter.isolationKey);
    if (reused !== undefined) {
      this.waiters.shift();
      waiter.resolve(reused);
      this.serveWaiters();
      return;
    }
    this.cloning += 1;
    this.loadTemplate()
      .then((template) =>
        template.clone(this.takeMemory(template, Math.max(waiter.memoryLimit, this.instanceMemoryMaximum))),
      )
      .then(
        (sandbox) => {
          this.cloning -= 1;
          const first = this.waiters[0];
          if (first !== undefined && !first.cancelled && sandbox.instance.maximumBytes >= first.memoryLimit) {
            this.waiters.shift();
            first.resolve(this.prepare(sandbox, first.memoryLimit));
          } else if (!this.closed && sandbox.instance.maximumBytes <= this.instanceMemoryMaximum + 65_536) {
            this.ready.push(sandbox);
          } else {
            this.drop(sandbox.instance);
          }
          this.serveNextWaiter();
        },
        (error: unknown) => {
          this.cloning -= 1;
          const first = this.waiters.shift();
          if (first !== undefined && !first.cancelled) first.reject(error);
          this.serveNextWaiter();
        },
      );
  }

  /**
   * Serves the next waiting request after the event loop's other work: a burst of sessions needing
   * new instances (a new memory costs milliseconds of page faults) must not hold the thread's timers
   * (other sessions' deadlines) and its messages for the whole burst.
   */
  private serveNextWaiter(): void {
    if (this.waiters.length === 0) {
      this.serveWaiters();
      return;
    }
    this.waitersScheduled = true;
    setImmediate(() => {
      this.waitersScheduled = false;
      this.serveWaiters();
    });
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
    // One sandbox at a time, so that messages waiting for this thread go first.
    if (this.closed || this.cloning > 0 || this.ready.length >= this.warmInstances) return;
    if (this.waiters.length > 0) {
      this.serveWaiters();
      return;
    }
    this.cloning += 1;
    this.loadTemplate()
      .then((template) => template.clone(this.takeMemory(template, this.instanceMemoryMaximum)))
      .then(
        (sandbox) => {
          this.cloning -= 1;
          if (this.closed) this.drop(sandbox.instance);
          else this.ready.push(sandbox);
          if (this.waiters.length > 0) this.serveWaiters();
          else this.scheduleRefill();
        },
        () => {
          // Instantiation failed (no memory): try again on the next release rather than spin.
          this.cloning -= 1;
        },
      );
  }
}
