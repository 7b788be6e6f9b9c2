import { describe, expect, it } from 'vitest';
import { liveSessionsOf } from './totals';

describe('liveSessionsOf', () => {
  it('is the sessions started and not ended', () => {
    expect(liveSessionsOf({ sessions: 9, sessionsEnded: 4 })).toBe(5);
  });

  it('is none, not fewer, where a window counts ends of sessions that started before it', () => {
    expect(liveSessionsOf({ sessions: 666, sessionsEnded: 667 })).toBe(0);
  });
});
