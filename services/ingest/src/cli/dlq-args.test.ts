import { describe, expect, it } from 'vitest';
import { UsageError } from './config';
import { DEFAULT_LIST_LIMIT, DEFAULT_REPLAY_LIMIT, parseDlqArgs, parseOffsets, parseTime } from './dlq-args';

const NOW = Date.parse('2024-09-01T12:00:00Z');

describe('dlq arguments', () => {
  it('lists the earliest 50 letters of every reason and time by default, as a table', () => {
    expect(parseDlqArgs(['list'], NOW)).toEqual({
      action: 'list',
      selection: { reasons: null, since: null, until: null, offsets: null, limit: DEFAULT_LIST_LIMIT },
      output: 'table',
      timeoutMs: 120_000,
    });
  });

  it('replays as a dry run unless --yes is given', () => {
    const dry = parseDlqArgs(['replay', '--reason', 'out_of_range'], NOW);
    expect(dry).toMatchObject({ action: 'replay', apply: false, json: false });
    expect(dry.action === 'replay' && dry.selection.limit).toBe(DEFAULT_REPLAY_LIMIT);
    expect(parseDlqArgs(['replay', '--yes'], NOW)).toMatchObject({ action: 'replay', apply: true });
  });

  it('takes reasons comma-separated and repeated, times ago or absolute, offsets and a limit', () => {
    const c = parseDlqArgs(
      [
        'replay',
        '--reason',
        'out_of_range,not_json',
        '--reason',
        'too_long',
        '--since',
        '2h',
        '--until',
        '2024-09-01T11:30:00+00:00',
        '--offsets',
        '0:12,1:40-45',
        '--limit',
        '7',
        '--timeout',
        '30s',
        '--json',
      ],
      NOW,
    );
    expect(c).toEqual({
      action: 'replay',
      selection: {
        reasons: new Set(['out_of_range', 'not_json', 'too_long']),
        since: NOW - 2 * 3_600_000,
        until: Date.parse('2024-09-01T11:30:00Z'),
        offsets: [
          { partition: 0, from: 12n, to: 12n },
          { partition: 1, from: 40n, to: 45n },
        ],
        limit: 7,
      },
      apply: false,
      json: true,
      timeoutMs: 30_000,
    });
  });

  it('prints the raw originals or JSON, not both', () => {
    expect(parseDlqArgs(['list', '--raw'], NOW)).toMatchObject({ output: 'raw' });
    expect(parseDlqArgs(['list', '--json'], NOW)).toMatchObject({ output: 'json' });
    expect(() => parseDlqArgs(['list', '--json', '--raw'], NOW)).toThrow(UsageError);
  });

  it('answers help for no command, help, --help and -h after a command', () => {
    for (const argv of [[], ['help'], ['--help'], ['list', '--help'], ['replay', '-h']])
      expect(parseDlqArgs(argv, NOW)).toEqual({ action: 'help' });
  });

  it('refuses unknown commands, options, flags of the other command and stray words', () => {
    for (const argv of [
      ['purge'],
      ['list', '--bogus'],
      ['list', '--yes'],
      ['replay', '--raw'],
      ['list', 'extra'],
      ['list', '--limit', '0'],
      ['list', '--limit', '2.5'],
      ['list', '--reason', 'Out Of Range'],
      ['list', '--timeout', '0s'],
      ['list', '--since', '1h', '--until', '2h'],
    ])
      expect(() => parseDlqArgs(argv, NOW), argv.join(' ')).toThrow(UsageError);
  });
});

describe('times', () => {
  it('reads durations ago, dates at midnight UTC and ISO times with their zone', () => {
    expect(parseTime('90s', NOW, '--since')).toBe(NOW - 90_000);
    expect(parseTime('15m', NOW, '--since')).toBe(NOW - 900_000);
    expect(parseTime('7d', NOW, '--since')).toBe(NOW - 7 * 86_400_000);
    expect(parseTime('2024-08-23', NOW, '--since')).toBe(Date.parse('2024-08-23T00:00:00Z'));
    expect(parseTime('2024-08-23T10:00:00+08:00', NOW, '--since')).toBe(Date.parse('2024-08-23T02:00:00Z'));
    expect(parseTime('2024-08-23T10:00:00.5Z', NOW, '--since')).toBe(Date.parse('2024-08-23T10:00:00.500Z'));
  });

  it('refuses a time without a zone, which means different instants to the operator and the server', () => {
    for (const raw of ['2024-08-23T10:00:00', 'yesterday', '2h ago', '-5m', '', '1w'])
      expect(() => parseTime(raw, NOW, '--since'), raw).toThrow(/--since must be/);
  });
});

describe('offsets', () => {
  it('reads single offsets and inclusive ranges per partition', () => {
    expect(parseOffsets('2:5, 0:1-3')).toEqual([
      { partition: 2, from: 5n, to: 5n },
      { partition: 0, from: 1n, to: 3n },
    ]);
  });

  it('keeps offsets beyond 2^53 exact', () => {
    expect(parseOffsets('0:9007199254740993')[0]!.from).toBe(9_007_199_254_740_993n);
  });

  it('refuses backwards, absurdly wide and malformed ranges', () => {
    for (const raw of ['0:5-3', '0:0-99999999999', '12', 'a:1', '0:1-', ',', '0@12'])
      expect(() => parseOffsets(raw), raw).toThrow(UsageError);
  });
});
