import { describe, expect, it } from 'vitest';
import { globEscape, keySpace } from './keys';
import { LiveStateNotReadyError, liveStateError } from './live-state';
import {
  comparePartitions,
  compareTotals,
  differingPartitions,
  exactTotals,
  formatComparison,
  scopeKind,
} from './reconcile';

const computable = (kind: string) => kind !== 'campaign';

describe('compareTotals', () => {
  it('agrees when every field is equal, whatever the text form and missing zero fields', () => {
    const live = new Map([['all', { views: '10', salesFen: '0012' }]]);
    const history = new Map([['all', { views: '10', sessions: '0', salesFen: '12', refundsFen: '0' }]]);
    const c = compareTotals(live, history, computable);
    expect(c).toEqual({ compared: 1, agreeing: 1, differences: [], skipped: [] });
  });

  it('names each differing scope with both values and the signed difference', () => {
    const live = new Map([
      ['all', { views: '11', orders: '3' }],
      ['district:Luohu', { views: '5' }],
    ]);
    const history = new Map([
      ['all', { views: '10', orders: '3' }],
      ['district:Luohu', { views: '7' }],
    ]);
    const c = compareTotals(live, history, computable);
    expect(c.compared).toBe(2);
    expect(c.differences.map((d) => d.scope)).toEqual(['all', 'district:Luohu']);
    expect(c.differences[0]!.fields).toEqual([{ field: 'views', live: '11', history: '10', delta: '+1' }]);
    expect(c.differences[1]!.fields).toEqual([{ field: 'views', live: '5', history: '7', delta: '-2' }]);
    expect(c.differences[1]!.presence).toBe('both');
  });

  it('treats a scope missing on one side as zeros and says which side has it', () => {
    const c = compareTotals(
      new Map([['host:h-1', { views: '2' }]]),
      new Map([['stream:s-9', { orders: '1', salesFen: '500' }]]),
      computable,
    );
    expect(c.differences.map((d) => [d.scope, d.presence])).toEqual([
      ['host:h-1', 'live-only'],
      ['stream:s-9', 'history-only'],
    ]);
    expect(c.differences[1]!.fields.map((f) => f.field)).toEqual(['salesFen', 'orders']);
  });

  it('compares beyond 2^53 exactly', () => {
    const big = '9007199254740993'; // 2^53 + 1: equal to 2^53 as a double
    const c = compareTotals(
      new Map([['all', { salesFen: big }]]),
      new Map([['all', { salesFen: '9007199254740992' }]]),
      computable,
    );
    expect(c.differences[0]!.fields[0]!.delta).toBe('+1');
  });

  it('skips kinds history cannot compute and reports them per kind', () => {
    const live = new Map([
      ['campaign:c1', { views: '1' }],
      ['campaign:c2', { views: '1' }],
      ['all', { views: '1' }],
    ]);
    const c = compareTotals(live, new Map([['all', { views: '1' }]]), computable);
    expect(c).toMatchObject({ compared: 1, agreeing: 1, skipped: [{ kind: 'campaign', scopes: 2 }] });
  });

  it('flags a value that is not an integer', () => {
    const c = compareTotals(new Map([['all', { views: 'garbage' }]]), new Map([['all', { views: '0' }]]), computable);
    expect(c.differences[0]!.fields[0]).toEqual({ field: 'views', live: 'garbage', history: '0', delta: '?' });
  });
});

describe('formatComparison', () => {
  it('prints a table of differences and a summary naming the scopes', () => {
    const c = compareTotals(
      new Map([['district:Luohu', { views: '5', orders: '1' }]]),
      new Map([['district:Luohu', { views: '7', orders: '1' }]]),
      computable,
    );
    const text = formatComparison(c);
    expect(text).toContain('district:Luohu  views');
    expect(text).toMatch(/district:Luohu\s+views\s+5\s+7\s+-2/);
    expect(text.split('\n').at(-1)).toBe('DIFFER: 1 of 1 scopes differ: district:Luohu');
  });

  it('says OK and mentions skipped kinds', () => {
    const c = compareTotals(
      new Map([
        ['campaign:x', { views: '1' }],
        ['all', {}],
      ]),
      new Map(),
      computable,
    );
    expect(formatComparison(c)).toBe(
      'skipped 1 campaign scope(s): ClickHouse cannot compute campaign totals yet\nOK: 1 scopes compared, all agree',
    );
  });

  it('limits the table and points at --json', () => {
    const live = new Map(Array.from({ length: 5 }, (_, i) => [`host:h-${i}`, { views: '1' }] as const));
    expect(formatComparison(compareTotals(live, new Map(), computable), { limit: 2 })).toContain(
      '… and 3 more differing scopes (use --json for all)',
    );
  });
});

describe('helpers', () => {
  it('knows a scope kind', () => {
    expect(scopeKind('all')).toBe('all');
    expect(scopeKind('stream:a:b')).toBe('stream');
  });

  it('normalises totals to exact text', () => {
    expect(exactTotals({ views: ' 7 ' })).toMatchObject({ views: '7', orders: '0' });
  });

  it('maps script refusals to the typed retryable error', () => {
    const err = liveStateError(new Error('LTNOTREADY rebuilding'));
    expect(err).toBeInstanceOf(LiveStateNotReadyError);
    expect(err).toMatchObject({ reason: 'rebuilding', retryable: true, code: 'LIVE_STATE_NOT_READY' });
    expect(liveStateError(new Error('ERR something else'))).toBeUndefined();
  });

  it('escapes glob characters of a prefix for SCAN', () => {
    expect(globEscape('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\');
    const k = keySpace('lt');
    expect(k.totalsPattern).toBe('lt:t:{*}:*');
    expect(k.liveState('t/0')).toBe('lt:state:{t/0}');
    expect(k.rebuildLock('t/0')).toBe('lt:rebuild:{t/0}');
    expect(keySpace('a*b').totalsPattern).toBe('a\\*b:t:{*}:*');
  });
});

describe('comparePartitions (ADR 0003: a difference names its partition)', () => {
  const shares = (entries: [number, [string, Record<string, string>][]][]) =>
    new Map(entries.map(([p, scopes]) => [p, new Map(scopes)]));

  it('agrees when every partition share equals its rows, and counts scopes like the sums', () => {
    const live = shares([
      [
        0,
        [
          ['all', { views: '3' }],
          ['host:a', { views: '3' }],
        ],
      ],
      [
        1,
        [
          ['all', { views: '4' }],
          ['host:a', {}],
        ],
      ],
    ]);
    const history = shares([
      [
        0,
        [
          ['all', { views: '3' }],
          ['host:a', { views: '3' }],
        ],
      ],
      [1, [['all', { views: '4' }]]],
    ]);
    expect(comparePartitions(live, history, computable)).toEqual({
      compared: 2,
      agreeing: 2,
      differences: [],
      skipped: [],
    });
  });

  it('names the partition whose share differs, beside the summed fields', () => {
    const live = shares([
      [0, [['all', { views: '3' }]]],
      [1, [['all', { views: '2' }]]],
    ]);
    const history = shares([
      [0, [['all', { views: '3' }]]],
      [1, [['all', { views: '4' }]]],
    ]);
    const c = comparePartitions(live, history, computable);
    expect(c.differences).toEqual([
      {
        scope: 'all',
        presence: 'both',
        fields: [{ field: 'views', live: '5', history: '7', delta: '-2' }],
        live: exactTotals({ views: '5' }),
        history: exactTotals({ views: '7' }),
        partitions: [{ partition: 1, fields: [{ field: 'views', live: '2', history: '4', delta: '-2' }] }],
      },
    ]);
    expect(differingPartitions(c)).toEqual([1]);
    const text = formatComparison(c);
    expect(text).toMatch(/^all\s+views\s+5\s+7\s+-2$/m);
    expect(text).toMatch(/^ {2}partition 1\s+views\s+2\s+4\s+-2$/m);
    expect(text.split('\n').slice(-2)).toEqual(['differing partitions: 1', 'DIFFER: 1 of 1 scopes differ: all']);
  });

  it('reports shares that are wrong although their sum agrees (a count in the wrong partition)', () => {
    const live = shares([
      [0, [['all', { views: '4' }]]],
      [1, [['all', { views: '3' }]]],
    ]);
    const history = shares([
      [0, [['all', { views: '3' }]]],
      [1, [['all', { views: '4' }]]],
    ]);
    const c = compareTotals(new Map([['all', { views: '7' }]]), new Map([['all', { views: '7' }]]), computable);
    expect(c.differences).toEqual([]);
    const split = comparePartitions(live, history, computable);
    expect(split).toMatchObject({ compared: 1, agreeing: 0 });
    expect(split.differences[0]).toMatchObject({ scope: 'all', fields: [] });
    expect(split.differences[0]!.partitions!.map((p) => p.partition)).toEqual([0, 1]);
    expect(formatComparison(split)).toContain('all (shares only)');
  });

  it('a partition without rows in ClickHouse differs by its whole share (live-only), and skips uncomputable kinds', () => {
    const live = shares([
      [
        0,
        [
          ['all', { views: '1' }],
          ['campaign:x', { views: '9' }],
        ],
      ],
      [2, [['all', { views: '5' }]]],
    ]);
    const history = shares([[0, [['all', { views: '1' }]]]]);
    const c = comparePartitions(live, history, computable);
    expect(c.skipped).toEqual([{ kind: 'campaign', scopes: 1 }]);
    expect(c.differences.map((d) => [d.scope, d.partitions!.map((p) => p.partition)])).toEqual([['all', [2]]]);
  });
});
