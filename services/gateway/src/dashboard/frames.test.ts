import { describe, expect, it } from 'vitest';
import { errorFrame, parseChannel, pongFrame, snapshotFrame, updateFrame } from '../live/protocol';
import { RANKINGS } from './figures';
import { ChannelFeed, channelsFor, parseFrame, type DataFrame } from './frames';

const snapshot = (channel: string, seq: number): DataFrame => ({ type: 'snapshot', channel, seq, data: { seq } });
const update = (channel: string, seq: number): DataFrame => ({ type: 'update', channel, seq, data: { seq } });

describe('dashboard frames', () => {
  it('reads the frames the gateway builds', () => {
    expect(parseFrame(snapshotFrame('totals:all', { views: 3 }, 7, 1_000))).toEqual({
      type: 'snapshot',
      channel: 'totals:all',
      seq: 7,
      ts: 1_000,
      data: { views: 3 },
    });
    expect(parseFrame(updateFrame('series:all', [1], 8, 2_000))).toMatchObject({ type: 'update', seq: 8, data: [1] });
    expect(parseFrame(pongFrame(5))).toEqual({ type: 'pong' });
    expect(parseFrame(errorFrame('NOT_READY', 'warming up', 'totals:all'))).toEqual({
      type: 'error',
      code: 'NOT_READY',
      message: 'warming up',
      channel: 'totals:all',
    });
    expect(parseFrame(errorFrame('BAD_FRAME', 'no'))).toEqual({ type: 'error', code: 'BAD_FRAME', message: 'no' });
  });

  it('ignores JSON the protocol does not define', () => {
    for (const text of ['null', '3', '"x"', '[]', '{"type":"hello"}', '{"type":"update","channel":"totals:all"}'])
      expect(parseFrame(text), text).toBeNull();
    expect(() => parseFrame('{')).toThrow(SyntaxError);
  });

  it('names channels the gateway accepts, the city ranking always the national one', () => {
    const campaign = channelsFor('campaign:ecm-2024', RANKINGS);
    expect(campaign).toMatchObject({
      totals: 'totals:campaign:ecm-2024',
      'rank-district': 'rankings:campaign:ecm-2024:district:gmv',
      'rank-city': 'rankings:all:city:gmv',
    });
    for (const channel of [...Object.values(campaign), ...Object.values(channelsFor('all', RANKINGS))]) {
      const parsed = parseChannel(channel);
      expect(parsed.ok && parsed.channel.name, channel).toBe(channel);
    }
  });
});

describe('ChannelFeed', () => {
  it('applies a snapshot, then only newer updates', () => {
    const feed = new ChannelFeed(RANKINGS);
    feed.setScope('all');
    expect(feed.accept(snapshot('totals:all', 5))).toBe(true);
    expect(feed.accept(update('totals:all', 5))).toBe(false); // a repeat
    expect(feed.accept(update('totals:all', 4))).toBe(false); // late
    expect(feed.accept(update('totals:all', 6))).toBe(true);
    expect(feed.accept(snapshot('totals:all', 2))).toBe(true); // a snapshot always resets
    expect(feed.accept(update('totals:all', 3))).toBe(true);
  });

  it('ignores channels of another scope and says which role a channel fills', () => {
    const feed = new ChannelFeed(RANKINGS);
    feed.setScope('campaign:a');
    expect(feed.accept(snapshot('totals:all', 1))).toBe(false);
    expect(feed.roleOf('rankings:campaign:a:host:gmv')).toBe('rank-host');
    expect(feed.roleOf('rankings:all:city:gmv')).toBe('rank-city');
    expect(feed.roleOf('totals:all')).toBeUndefined();
  });

  it('is fresh per role once a snapshot came on this connection, and stale again on the next', () => {
    const feed = new ChannelFeed(RANKINGS);
    feed.setScope('all');
    expect(feed.accept(update('windows:all', 1))).toBe(true); // shown, but an update alone is not fresh
    expect(feed.isFresh('windows')).toBe(false);
    feed.accept(snapshot('windows:all', 9));
    expect([feed.isFresh('windows'), feed.isFresh('totals'), feed.isFresh('no-such-role')]).toEqual([
      true,
      false,
      false,
    ]);
    feed.forgetConnection();
    expect(feed.isFresh('windows')).toBe(false);
    expect(feed.accept(update('windows:all', 2))).toBe(true); // a new connection's numbering starts again
  });

  it('switches scope: hands back the channels to leave and starts over', () => {
    const feed = new ChannelFeed(RANKINGS);
    expect(feed.setScope('all')).toEqual([]);
    feed.accept(snapshot('totals:all', 1));
    const left = feed.setScope('campaign:b');
    expect(left).toContain('totals:all');
    expect(left).toHaveLength(3 + RANKINGS.length);
    expect(feed.wants('totals:all')).toBe(false);
    expect(feed.wants('rankings:all:city:gmv')).toBe(true);
    expect(feed.isFresh('totals')).toBe(false);
  });

  it('names the roles before wanting any channel, so panels can be marked stale at first paint', () => {
    const feed = new ChannelFeed(RANKINGS);
    feed.nameChannels('all');
    expect(feed.channels()).toEqual([]);
    expect(feed.roleOf('totals:all')).toBe('totals');
    expect(feed.accept(snapshot('totals:all', 1))).toBe(false);
  });
});
