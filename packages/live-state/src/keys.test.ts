import { describe, expect, it } from 'vitest';
import { keySpace, scopeOfTotalsKey } from './keys';

describe('keys', () => {
  it('hash-tags the scope and round-trips it', () => {
    const k = keySpace('lt');
    expect(k.totals("district:Bao'an")).toBe("lt:t:{district:Bao'an}");
    expect(scopeOfTotalsKey('lt', k.totals('all'))).toBe('all');
    expect(scopeOfTotalsKey('lt', 'lt:off:x')).toBeNull();
  });
});
