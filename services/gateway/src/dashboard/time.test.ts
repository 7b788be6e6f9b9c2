import { describe, expect, it } from 'vitest';
import { zoned } from './time';

describe('dashboard clock', () => {
  const t = Date.parse('2024-08-23T01:02:03Z');

  it('shows wall-clock time in the campaign time zone, Shanghai by default', () => {
    expect(zoned(t, false)).toBe('09:02:03');
    expect(zoned(t, true)).toBe('2024-08-23 09:02');
    expect(zoned(t, false, 'Europe/London')).toBe('02:02:03');
    expect(zoned(Date.parse('2024-08-23T16:30:00Z'), true)).toBe('2024-08-24 00:30'); // h23, next day
  });

  it('falls back to ISO time for an unknown zone rather than failing the page', () => {
    expect(zoned(t, false, 'Mars/Olympus')).toBe('2024-08-23T01:02:03.000Z');
  });
});
