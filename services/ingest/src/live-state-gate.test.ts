import { describe, expect, it, vi } from 'vitest';
import { LiveStateNotReadyError, type LiveStatus, type MarkOutcome } from '@livetally/live-state';
import { createLogger } from '@livetally/logging';
import { LiveStateGate } from './live-state-gate';

const logger = createLogger({ service: 'test', level: 'silent' });

function fakeLive(status: LiveStatus, mark: (fresh: boolean) => MarkOutcome) {
  return {
    status: vi.fn(async () => status),
    markReady: vi.fn(async (_topic: string, _partition: number, fresh: boolean) => mark(fresh)),
  };
}

describe('LiveStateGate', () => {
  it('passes when the marker is set, and reuses that answer briefly', async () => {
    let now = 0;
    const live = fakeLive('ready', () => 'ready');
    const gate = new LiveStateGate({
      live,
      history: { hasRows: async () => true },
      logger,
      cacheMs: 1_000,
      now: () => now,
    });
    await gate.ensureReady('t', 0);
    await gate.ensureReady('t', 0);
    expect(live.status).toHaveBeenCalledTimes(1);
    now = 1_001;
    await gate.ensureReady('t', 0);
    expect(live.status).toHaveBeenCalledTimes(2);
  });

  it('refuses while a rebuild runs', async () => {
    const gate = new LiveStateGate({
      live: fakeLive('rebuilding', () => 'rebuilding'),
      history: { hasRows: async () => true },
      logger,
    });
    await expect(gate.ensureReady('t', 0)).rejects.toMatchObject({ reason: 'rebuilding', retryable: true });
  });

  it('initialises a fresh deployment only when ClickHouse holds nothing for the topic', async () => {
    const live = fakeLive('missing', (fresh) => (fresh ? 'initialized' : 'missing'));
    const hasRows = vi.fn(async () => false);
    await new LiveStateGate({ live, history: { hasRows }, logger }).ensureReady('t', 0);
    expect(live.markReady.mock.calls).toEqual([
      ['t', 0, false],
      ['t', 0, true],
    ]);
  });

  it('adopts offsets already in Redis without asking ClickHouse', async () => {
    const hasRows = vi.fn(async () => true);
    await new LiveStateGate({ live: fakeLive('missing', () => 'adopted'), history: { hasRows }, logger }).ensureReady(
      't',
      0,
    );
    expect(hasRows).not.toHaveBeenCalled();
  });

  it('waits (typed, retryable) and tells the operator to rebuild when Redis is empty but ClickHouse is not', async () => {
    const live = fakeLive('missing', () => 'missing');
    const gate = new LiveStateGate({ live, history: { hasRows: async () => true }, logger });
    const err = await gate.ensureReady('t', 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LiveStateNotReadyError);
    expect((err as Error).message).toContain('npm run rebuild');
    expect(live.markReady).toHaveBeenCalledTimes(1);
  });

  it('starts at most one automatic rebuild at a time', async () => {
    let finish!: () => void;
    const autoRebuild = vi.fn(() => new Promise<void>((r) => (finish = r)));
    const gate = new LiveStateGate({
      live: fakeLive('missing', () => 'missing'),
      history: { hasRows: async () => true },
      logger,
      autoRebuild,
    });
    await expect(gate.ensureReady('t', 0)).rejects.toBeInstanceOf(LiveStateNotReadyError);
    await expect(gate.ensureReady('t', 0)).rejects.toBeInstanceOf(LiveStateNotReadyError);
    expect(autoRebuild).toHaveBeenCalledTimes(1);
    finish();
    await new Promise((r) => setTimeout(r, 0));
    await expect(gate.ensureReady('t', 0)).rejects.toBeInstanceOf(LiveStateNotReadyError);
    expect(autoRebuild).toHaveBeenCalledTimes(2);
  });
});
