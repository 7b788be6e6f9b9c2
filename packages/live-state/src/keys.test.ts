import { describe, expect, it } from 'vitest';
import { keySpace, parsePartitionTag, partitionTag, partitionsOf, scopeOfTotalsKey } from './keys';
import { liveKeys } from './live-keys';

describe('keys (layout v2, ADR 0003)', () => {
  it('hash-tags the partition and round-trips the tag and the scope', () => {
    const k = keySpace('lt');
    const tag = partitionTag('livetally.events', 7);
    expect(k.totals(tag, "district:Bao'an")).toBe("lt:t:{livetally.events/7}:district:Bao'an");
    expect(scopeOfTotalsKey('lt', k.totals(tag, 'all'))).toEqual({ tag, scope: 'all' });
    expect(scopeOfTotalsKey('lt', 'lt:off:{x/1}')).toBeNull();
    expect(parsePartitionTag(tag)).toEqual({ topic: 'livetally.events', partition: 7 });
    expect(parsePartitionTag('nope')).toBeNull();
  });

  it('puts every key one partition batch writes under the partition tag', () => {
    const k = keySpace('lt');
    const live = liveKeys('lt').partition('t', 3);
    const keys = [
      k.offsets('t/3'),
      k.liveState('t/3'),
      k.rebuildLock('t/3'),
      k.catalogueVersion('t/3'),
      k.totals('t/3', 'city:Shenzhen'),
      live.minute('all', 60_000),
      live.viewers('all'),
      live.hosts('all'),
      live.ranking('all', 'city', 'views'),
    ];
    for (const key of keys) expect(/\{([^}]*)\}/.exec(key)![1]).toBe('t/3');
    expect(k.changesChannel('t/3')).toBe('lt:changed:{t/3}');
  });

  it('lists the partitions of one topic from the registry', () => {
    expect(partitionsOf(['a/2', 'a/0', 'b/1', 'a.b/5', 'junk'], 'a')).toEqual([0, 2]);
  });
});
