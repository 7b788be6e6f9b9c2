import { describe, expect, it } from 'vitest';
import { errorFrame, parseChannel, parseClientMessage } from './protocol';

describe('parseChannel', () => {
  it('accepts totals:<scope> and returns the canonical channel and scope', () => {
    expect(parseChannel('totals:all')).toEqual({
      ok: true,
      channel: { name: 'totals:all', scope: 'all', kind: 'totals' },
    });
    expect(parseChannel("totals:district:Bao'an")).toEqual({
      ok: true,
      channel: { name: "totals:district:Bao'an", scope: "district:Bao'an", kind: 'totals' },
    });
    expect(parseChannel('totals:district:福田')).toMatchObject({ ok: true, channel: { scope: 'district:福田' } });
  });

  it('accepts windows, series and rankings channels', () => {
    expect(parseChannel('windows:campaign:ecm-2024')).toEqual({
      ok: true,
      channel: { name: 'windows:campaign:ecm-2024', scope: 'campaign:ecm-2024', kind: 'windows' },
    });
    expect(parseChannel('series:all')).toMatchObject({ ok: true, channel: { kind: 'series', scope: 'all' } });
    expect(parseChannel('rankings:campaign:ecm-2024:district:gmv')).toEqual({
      ok: true,
      channel: {
        name: 'rankings:campaign:ecm-2024:district:gmv',
        scope: 'campaign:ecm-2024',
        kind: 'rankings',
        dimension: 'district',
        measure: 'gmv',
      },
    });
    expect(parseChannel('rankings:all:city:views')).toMatchObject({
      ok: true,
      channel: { scope: 'all', dimension: 'city', measure: 'views' },
    });
  });

  it.each([
    ['all', 'must start with totals:'],
    ['views:all', 'must start with totals:'],
    ['rankings:all:planet:gmv', 'rankings channel must look like'],
    ['rankings:district:Luohu:host:gmv', 'rankings channel must look like'],
    ['rankings:all:host:likes', 'rankings channel must look like'],
    ['totals:', 'scope must be'],
    ['totals:planet:Mars', 'unknown scope kind'],
    ['totals:district:', 'not allowed'],
    ['totals:district:<script>', 'not allowed'],
    [`totals:city:${'x'.repeat(129)}`, 'too long'],
    // Scopes that cannot hold data: values no event (or campaign) can have for the kind.
    [`totals:city:${'x'.repeat(65)}`, 'cannot exist'],
    ['series:host:h 42', 'cannot exist'],
    ['windows:stream:s/1', 'not allowed'],
    ['totals:platform:抖音', 'cannot exist'],
    ['series:campaign:ECM-2024', 'cannot exist'],
    ['rankings:campaign:ecm_2024:host:gmv', 'rankings channel must look like'],
    ['totals', 'must start with totals:'],
    [':all', 'must start with totals:'],
    ['TOTALS:all', 'must start with totals:'],
    ['totals:all:extra', 'unknown scope kind'],
    ['totals:\u0000', 'scope must be'],
  ])('rejects %j', (text, hint) => {
    expect(parseChannel(text)).toMatchObject({
      ok: false,
      code: 'INVALID_CHANNEL',
      message: expect.stringContaining(hint),
    });
  });
});

describe('parseClientMessage', () => {
  it('reads the three client messages', () => {
    expect(parseClientMessage('{"type":"ping"}')).toEqual({ ok: true, message: { type: 'ping' } });
    expect(parseClientMessage('{"type":"subscribe","channel":"totals:all"}')).toEqual({
      ok: true,
      message: { type: 'subscribe', channel: 'totals:all' },
    });
    expect(parseClientMessage('{"type":"unsubscribe","channel":"totals:all","extra":1}')).toEqual({
      ok: true,
      message: { type: 'unsubscribe', channel: 'totals:all' },
    });
  });

  it.each([
    ['not json', 'INVALID_JSON'],
    ['', 'INVALID_JSON'],
    ['[1,2]', 'BAD_FRAME'],
    ['null', 'BAD_FRAME'],
    ['"ping"', 'BAD_FRAME'],
    ['{"type":3}', 'BAD_FRAME'],
    ['{"type":"dance"}', 'UNKNOWN_TYPE'],
    ['{"type":"subscribe"}', 'INVALID_CHANNEL'],
    ['{"type":"subscribe","channel":42}', 'INVALID_CHANNEL'],
  ])('answers %j with %s', (text, code) => {
    expect(parseClientMessage(text)).toMatchObject({ ok: false, code, message: expect.any(String) });
  });

  it('builds error frames with and without a channel', () => {
    expect(JSON.parse(errorFrame('BAD_FRAME', 'nope'))).toEqual({ type: 'error', code: 'BAD_FRAME', message: 'nope' });
    expect(JSON.parse(errorFrame('INVALID_CHANNEL', 'bad', 'x'))).toEqual({
      type: 'error',
      code: 'INVALID_CHANNEL',
      message: 'bad',
      channel: 'x',
    });
  });
});
