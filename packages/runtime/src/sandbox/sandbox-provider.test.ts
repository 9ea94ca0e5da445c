import { afterEach, describe, expect, it } from 'vitest';
import { SandboxProvider } from './sandbox-provider.js';

const MiB = 1024 * 1024;
const providers: SandboxProvider[] = [];

function provider(options: ConstructorParameters<typeof SandboxProvider>[0]): SandboxProvider {
  const created = new SandboxProvider(options);
  providers.push(created);
  return created;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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
    for (let turn = 0; turn < 50 && supply.readyCount < 2; turn++) await nextTurn();
    expect(supply.readyCount).toBe(2);
    if (first !== undefined) supply.release(first, true);
  });

  it('reuses the instance of a clean session and never one that ran out of memory', async () => {
    const supply = provider({ warmInstances: 0, instanceMemoryMaximum: 32 * MiB });
    const clean = await supply.acquire(32 * MiB);
    const cleanInstance = clean.instance;
    supply.release(clean, true);
    const again = await supply.acquire(32 * MiB);
    expect(again.instance).toBe(cleanInstance);

    again.setInterruptCheck(() => false);
    again.start({
      code: 'const keep = []; while (true) keep.push(new Array(10000).fill(1))',
      contextJson: '{}',
      maxToolCalls: 1,
      maxToolArgsBytes: 100,
      maxStdoutBytes: 100,
      maxStackSize: 256 * 1024,
    });
    expect(again.instance.memoryExhausted).toBe(true);
    supply.release(again, true);
    const fresh = await supply.acquire(32 * MiB);
    expect(fresh.instance).not.toBe(cleanInstance);
    expect(cleanInstance.healthy).toBe(false);
    supply.release(fresh, true);
  });

  it('does not reuse an instance for a session that ended badly', async () => {
    const supply = provider({ warmInstances: 0, instanceMemoryMaximum: 32 * MiB });
    const sandbox = await supply.acquire(32 * MiB);
    const instance = sandbox.instance;
    supply.release(sandbox, false);
    const next = await supply.acquire(32 * MiB);
    expect(next.instance).not.toBe(instance);
    supply.release(next, true);
  });

  it('gives a session with a larger memory limit an instance able to honour it', async () => {
    const supply = provider({ warmInstances: 1, instanceMemoryMaximum: 32 * MiB });
    await supply.prewarm();
    expect(supply.takeReady(64 * MiB)).toBeUndefined();
    const large = await supply.acquire(64 * MiB);
    expect(large.instance.maximumBytes).toBeGreaterThanOrEqual(64 * MiB);
    supply.release(large, true);
  });

  it('replaces an instance after maxSessionsPerInstance sessions', async () => {
    const supply = provider({ warmInstances: 0, maxSessionsPerInstance: 2, instanceMemoryMaximum: 32 * MiB });
    const first = await supply.acquire(32 * MiB);
    const instance = first.instance;
    supply.release(first, true);
    const second = await supply.acquire(32 * MiB);
    expect(second.instance).toBe(instance);
    supply.release(second, true);
    const third = await supply.acquire(32 * MiB);
    expect(third.instance).not.toBe(instance);
    supply.release(third, true);
  });
});
