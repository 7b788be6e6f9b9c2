import { describe, expect, it, vi } from 'vitest';
import { stopWithin } from './index';

describe('stopWithin', () => {
  it('resolves when the graceful steps finish in time, without forcing', async () => {
    const force = vi.fn();
    await stopWithin(1_000, async () => undefined, force);
    expect(force).not.toHaveBeenCalled();
  });

  it('forces and rejects once the deadline passes', async () => {
    const force = vi.fn();
    const started = performance.now();
    await expect(stopWithin(50, () => new Promise<void>(() => undefined), force)).rejects.toThrow(
      'shutdown took longer than 50 ms',
    );
    expect(force).toHaveBeenCalledTimes(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('passes on a graceful step that fails', async () => {
    const force = vi.fn();
    await expect(stopWithin(1_000, () => Promise.reject(new Error('boom')), force)).rejects.toThrow('boom');
    expect(force).not.toHaveBeenCalled();
  });
});
