import { describe, expect, it } from 'vitest';
import { DEFAULT_CAMPAIGN_SCALE, parseSimulatorConfig } from './config';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const parse = (...argv: string[]) => parseSimulatorConfig({}, argv, NOW);

describe('parseSimulatorConfig', () => {
  it('reads campaign mode: the window in Asia/Shanghai days, scale, speed or minutes', () => {
    const c = parse('--mode', 'campaign', '--scale', '0.00001', '--minutes', '5');
    expect(c).toMatchObject({ mode: 'campaign', scale: 0.00001, minutes: 5, speed: null, curve: 'shanghai' });
    expect(new Date(c.from).toISOString()).toBe('2024-08-22T16:00:00.000Z');
    expect(new Date(c.to).toISOString()).toBe('2024-10-31T16:00:00.000Z');
    expect(
      parse('--mode', 'campaign', '--speed', '20000', '--from', '2024-10-01T20:00:00+08:00', '--to', '2024-10-02'),
    ).toMatchObject({ speed: 20_000, scale: DEFAULT_CAMPAIGN_SCALE, from: Date.parse('2024-10-01T12:00:00Z') });
  });

  it('plans without sending with --plan-only, in campaign mode only, future windows included', () => {
    expect(parse('--mode', 'campaign', '--plan-only', '--to', '2025-07-01')).toMatchObject({ planOnly: true });
    expect(parse('--mode', 'campaign').planOnly).toBe(false);
    expect(() => parse('--mode', 'live', '--plan-only')).toThrow(/--plan-only plans a campaign window/);
  });

  it('keeps live and seeded as they were; live sizes the market from --rate unless --scale is given', () => {
    expect(parse('--mode', 'live', '--rate', '300')).toMatchObject({
      mode: 'live',
      ratePerSecond: 300,
      scale: null,
      curve: 'flat',
    });
    expect(parse('--mode', 'seeded', '--count', '500', '--malformed-every', '10')).toMatchObject({
      mode: 'seeded',
      count: 500,
      malformedEvery: 10,
    });
    expect(parse('--cities', 'Shenzhen,Hangzhou').cities).toEqual(['Shenzhen', 'Hangzhou']);
  });

  it('rejects windows in the future, both pace options, bad numbers and unknown cities', () => {
    expect(() => parse('--mode', 'campaign', '--to', '2025-07-01')).toThrow(/future/);
    expect(() => parse('--mode', 'campaign', '--speed', '10', '--minutes', '5')).toThrow(/not both/);
    expect(() => parse('--mode', 'campaign', '--from', '2024-11-01', '--to', '2024-08-23')).toThrow(/before/);
    expect(() => parse('--mode', 'campaign', '--from', '2024-02-30')).toThrow(/--from/);
    expect(() => parse('--scale', '0')).toThrow(/--scale/);
    expect(() => parse('--scale', 'abc')).toThrow(/--scale/);
    expect(() => parse('--cities', 'Atlantis')).toThrow(/unknown city/);
    expect(() => parse('--mode', 'replay')).toThrow(/--mode/);
    expect(() => parse('--curve', 'lunar')).toThrow(/--curve/);
  });
});
