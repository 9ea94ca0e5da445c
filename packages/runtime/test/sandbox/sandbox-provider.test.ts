import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxStart } from '../../src/sandbox/sandbox.js';
import { SandboxProvider, type SandboxProviderOptions } from '../../src/sandbox/sandbox-provider.js';

const MiB = 1024 * 1024;
const providers: SandboxProvider[] = [];

function provider(options: SandboxProviderOptions): SandboxProvider {
  const created = new SandboxProvider(options);
  providers.push(created);
  return created;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function start(code: string, contextJson = '{}'): SandboxStart {
  return {
    code,
    contextJson,
    maxToolCalls: 10,
    maxToolArgsBytes: 10_000,
    maxStdoutBytes: 100_000,
    maxStackSize: 256 * 1024,
  };
}

/** Runs code in a sandbox to its outcome (no tool calls). */
function run(sandbox: Sandbox, code: string, contextJson?: string): string {
  sandbox.setInterruptCheck(() => false);
  const turn = sandbox.start(start(code, contextJson));
  return `${turn.outbox}\n${JSON.stringify(turn.outcome)}`;
}

/** Whether `bytes` contain `text` as QuickJS stores strings: one byte or two bytes a character. */
function contains(bytes: Uint8Array, text: string): boolean {
  const latin1 = Buffer.from(text, 'latin1');
  const utf16 = Buffer.from(text, 'utf16le');
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.includes(latin1) || buffer.includes(utf16);
}

afterEach(() => {
  for (const created of providers.splice(0)) created.close();
});

describe('SandboxProvider', () => {
  it('keeps the configured number of sandboxes ready and hands them out without waiting', async () => {
    const supply = provider({ warmInstances: 2, instanceMemoryMaximum: 32 * MiB });
    await supply.prewarm();
    expect(supply.readyCount).toBe(2);
    const first = supply.takeReady(32 * MiB);
    expect(first).toBeDefined();
    expect(supply.readyCount).toBe(1);
    // Refilled in the background.
    for (let turn = 0; turn < 200 && supply.readyCount < 2; turn++) await nextTurn();
    expect(supply.readyCount).toBe(2);
    if (first !== undefined) supply.release(first, true);
  });

  it('parks a waiting sandbox into an image, wipes its memory, and restores it where it waited', async () => {
    const supply = provider({ warmInstances: 0, instanceMemoryMaximum: 32 * MiB });
    const secret = 'parked-secret-7f3a9c';
    const sandbox = await supply.acquire(32 * MiB).sandbox;
    sandbox.setInterruptCheck(() => false);
    const turn = sandbox.start(
      start(`const kept = ${JSON.stringify(secret)}.repeat(2); const n = await tools.ask(); return kept + n`),
    );
    expect(turn.outbox).toContain('"ask"');
    const memory = sandbox.instance.memory;
    expect(contains(new Uint8Array(memory.buffer), secret)).toBe(true);
    const parked = supply.park(sandbox, 32 * MiB);
    expect(parked).toBeDefined();
    expect(supply.parkedCount).toBe(1);
    // The instance is gone and its memory wiped for the next session: the secret is only in the image.
    expect(sandbox.instance.healthy).toBe(false);
    expect(new Uint8Array(memory.buffer).every((byte) => byte === 0)).toBe(true);
    expect(parked?.image.byteLength).toBeLessThan(256 * 1024);
    const restored = await supply.unpark(parked as NonNullable<typeof parked>);
    expect(supply.restoredCount).toBe(1);
    restored.setInterruptCheck(() => false);
    const resumed = restored.deliver('[[1,1,7]]');
    expect(resumed.outcome).toEqual({ kind: 'returned', json: JSON.stringify(`${secret.repeat(2)}7`) });
    supply.release(restored, false);
  });

  it('does not park a sandbox it cannot restore exactly', async () => {
    const supply = provider({ warmInstances: 0, instanceMemoryMaximum: 64 * MiB });
    const sandbox = await supply.acquire(64 * MiB).sandbox;
    sandbox.setInterruptCheck(() => false);
    // Grows the memory past the module's initial size: the image would not cover it.
    sandbox.start(
      start('const big = new Uint8Array(24 * 1024 * 1024).fill(1); await tools.ask(); return big.length'),
    );
    expect(sandbox.instance.byteLength).toBeGreaterThan(16 * MiB);
    expect(supply.park(sandbox, 64 * MiB)).toBeUndefined();
    expect(supply.parkedCount).toBe(0);
    expect(sandbox.instance.healthy).toBe(true);
    expect(sandbox.deliver('[[1,1,null]]').outcome).toEqual({
      kind: 'returned',
      json: String(24 * 1024 * 1024),
    });
    supply.release(sandbox, false);
  });

  it('gives every session a fresh instance and wipes its memory to zero afterwards', async () => {
    const supply = provider({ warmInstances: 0, instanceMemoryMaximum: 32 * MiB });
    const first = await supply.acquire(32 * MiB).sandbox;
    expect(
      run(first, "globalThis.kept = 'x'.repeat(1000); return new Array(100000).fill(7).length"),
    ).toContain('100000');
    const instance = first.instance;
    const memory = instance.memory;
    supply.release(first, true);
    expect(instance.healthy).toBe(false);
    expect(supply.idleMemoryCount).toBe(1);
    expect(new Uint8Array(memory.buffer).every((byte) => byte === 0)).toBe(true);
    const second = await supply.acquire(32 * MiB).sandbox;
    expect(second.instance).not.toBe(instance);
    // The recycled memory holds the new instance, which starts from the template alone.
    expect(second.instance.memory).toBe(memory);
    expect(run(second, "return typeof globalThis.kept + ' ' + typeof kept")).toContain('undefined undefined');
    supply.release(second, true);
  });

  it('starts every instance from the same bytes, whatever the sessions before it left', async () => {
    const supply = provider({ warmInstances: 0, instanceMemoryMaximum: 32 * MiB });
    const clean = await supply.acquire(32 * MiB).sandbox;
    const before = new Uint8Array(clean.instance.memory.buffer.slice(0));
    supply.release(clean, true);
    const secret = 'SECRET-9f2c41d7-written-by-an-earlier-session';
    for (let session = 0; session < 3; session++) {
      const sandbox = await supply.acquire(32 * MiB).sandbox;
      run(
        sandbox,
        "const keep = []; for (let i = 0; i < 2000; i++) keep.push(context.secret + i); console.log(context.secret); (function deep(n) { return n === 0 ? context.secret : deep(n - 1) + '' })(500); return context.secret",
        JSON.stringify({ secret }),
      );
      supply.release(sandbox, true);
    }
    const after = await supply.acquire(32 * MiB).sandbox;
    const bytes = new Uint8Array(after.instance.memory.buffer);
    expect(contains(bytes, secret)).toBe(false);
    expect(bytes.length).toBe(before.length);
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(before))).toBe(0);
    supply.release(after, true);
  });

  it('serves waiting requests in order and builds nothing for a cancelled one', async () => {
    const supply = provider({ warmInstances: 0, instanceMemoryMaximum: 32 * MiB });
    const first = supply.acquire(32 * MiB);
    const cancelled = supply.acquire(32 * MiB);
    const third = supply.acquire(32 * MiB);
    cancelled.cancel();
    let cancelledResolved = false;
    void cancelled.sandbox.then(() => {
      cancelledResolved = true;
    });
    const sandboxes = await Promise.all([first.sandbox, third.sandbox]);
    for (let turn = 0; turn < 20; turn++) await nextTurn();
    expect(cancelledResolved).toBe(false);
    expect(supply.readyCount).toBe(0);
    for (const sandbox of sandboxes) supply.release(sandbox, true);
  });

  it('gives a session with a larger memory limit an instance able to honour it', async () => {
    const supply = provider({ warmInstances: 1, instanceMemoryMaximum: 32 * MiB });
    await supply.prewarm();
    expect(supply.takeReady(64 * MiB)).toBeUndefined();
    const large = await supply.acquire(64 * MiB).sandbox;
    expect(large.instance.maximumBytes).toBeGreaterThanOrEqual(64 * MiB);
    supply.release(large, true);
  });

  it('does not recycle a memory that grew past recycleAboveBytes', async () => {
    const supply = provider({
      warmInstances: 0,
      instanceMemoryMaximum: 64 * MiB,
      recycleAboveBytes: 20 * MiB,
    });
    const sandbox = await supply.acquire(64 * MiB).sandbox;
    run(sandbox, 'const big = new Uint8Array(24 * 1024 * 1024); big.fill(1); return big.length');
    expect(sandbox.instance.byteLength).toBeGreaterThan(20 * MiB);
    supply.release(sandbox, true);
    expect(supply.idleMemoryCount).toBe(0);
  });

  it('reuses an instance only when opted in, only for the same isolation key and only after a clean session', async () => {
    const fresh = provider({ warmInstances: 0, instanceMemoryMaximum: 32 * MiB });
    const plain = await fresh.acquire(32 * MiB, 'tenant-a').sandbox;
    const plainInstance = plain.instance;
    fresh.release(plain, true, 'tenant-a');
    const plainNext = await fresh.acquire(32 * MiB, 'tenant-a').sandbox;
    expect(plainNext.instance).not.toBe(plainInstance);
    fresh.release(plainNext, true, 'tenant-a');

    const reusing = provider({ warmInstances: 0, instanceMemoryMaximum: 32 * MiB, sessionsPerInstance: 2 });
    const first = await reusing.acquire(32 * MiB, 'tenant-a').sandbox;
    const instance = first.instance;
    reusing.release(first, true, 'tenant-a');
    const otherTenant = await reusing.acquire(32 * MiB, 'tenant-b').sandbox;
    expect(otherTenant.instance).not.toBe(instance);
    reusing.release(otherTenant, true, 'tenant-b');
    const noKey = await reusing.acquire(32 * MiB).sandbox;
    expect(noKey.instance).not.toBe(instance);
    reusing.release(noKey, true);
    const second = await reusing.acquire(32 * MiB, 'tenant-a').sandbox;
    expect(second.instance).toBe(instance);
    reusing.release(second, true, 'tenant-a');
    // Two sessions served: the instance is dropped.
    const third = await reusing.acquire(32 * MiB, 'tenant-a').sandbox;
    expect(third.instance).not.toBe(instance);
    reusing.release(third, false, 'tenant-a');
    const afterFailure = await reusing.acquire(32 * MiB, 'tenant-a').sandbox;
    expect(afterFailure.instance).not.toBe(third.instance);
    reusing.release(afterFailure, true, 'tenant-a');
  });
});
