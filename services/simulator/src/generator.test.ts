import { describe, expect, it } from 'vitest';
import { decodeEvent } from '@livetally/events';
import { buildDataset, expectedTotals } from './dataset';

const START = Date.UTC(2024, 7, 23);
const NOW = Date.UTC(2024, 10, 1);

describe('buildDataset', () => {
  const data = buildDataset({ seed: 7, count: 5_000, malformedEvery: 50, startTs: START, spanMs: 3_600_000 });

  it('is deterministic for a seed', () => {
    const again = buildDataset({ seed: 7, count: 5_000, malformedEvery: 50, startTs: START, spanMs: 3_600_000 });
    expect(again.map((m) => m.value.toString('base64'))).toEqual(data.map((m) => m.value.toString('base64')));
  });

  it('produces valid events with every type, and malformed ones the validator rejects for the stated reason', () => {
    const types = new Set<string>();
    for (const m of data) {
      const r = decodeEvent(m.value, NOW);
      if (m.event) {
        expect(r).toEqual({ ok: true, event: m.event });
        types.add(m.event.type);
      } else {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.errors.map((e) => e.reason)).toContain(m.expectedReason);
      }
    }
    expect([...types].sort()).toEqual(['like', 'refund', 'sale', 'stream_ended', 'stream_started', 'view']);
    expect(data.filter((m) => !m.event)).toHaveLength(100);
  });

  it('adds platform resends and late events when asked', () => {
    const d = buildDataset({
      seed: 3,
      count: 2_000,
      duplicateEvery: 40,
      lateEvery: 25,
      lateByMs: 7_200_000,
      startTs: START,
      spanMs: 60_000,
    });
    const dupes = d.filter((m) => m.kind === 'duplicate');
    expect(dupes).toHaveLength(50);
    const validValues = new Set(d.filter((m) => m.kind === 'valid').map((m) => m.value.toString('base64')));
    for (const m of dupes) expect(validValues.has(m.value.toString('base64'))).toBe(true);
    expect(d.filter((m) => m.event && m.event.ts < START).length).toBeGreaterThan(40);
  });

  it('only ends, views and sells on started streams and refunds real orders', () => {
    const started = new Set<string>();
    const sold = new Map<string, number>();
    for (const m of buildDataset({ seed: 7, count: 5_000, startTs: START, spanMs: 3_600_000 })) {
      const e = m.event!;
      if (e.type === 'stream_started') started.add(e.streamId);
      else expect(started.has(e.streamId)).toBe(true);
      if (e.type === 'sale') sold.set(e.orderId, e.amountFen);
      if (e.type === 'refund') expect(sold.get(e.orderId)).toBe(e.amountFen);
    }
  });

  it('skews host popularity', () => {
    const byHost = expectedTotals(data.flatMap((m) => (m.event ? [m.event] : [])));
    const views = [...byHost]
      .filter(([s]) => s.startsWith('host:'))
      .map(([, t]) => t.views)
      .sort((a, b) => b - a);
    const top = views.slice(0, Math.ceil(views.length / 10)).reduce((a, b) => a + b, 0);
    const all = views.reduce((a, b) => a + b, 0);
    expect(top / all).toBeGreaterThan(0.3);
  });
});
