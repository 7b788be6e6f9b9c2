import { describe, expect, it } from 'vitest';
import { errorFrame, parseChannel, parseClientMessage } from './protocol';

describe('parseChannel', () => {
  it('accepts totals:<scope> and returns the canonical channel and scope', () => {
    expect(parseChannel('totals:all')).toEqual({ ok: true, channel: { name: 'totals:all', scope: 'all' } });
    expect(parseChannel("totals:district:Bao'an")).toEqual({ ok: true, channel: { name: "totals:district:Bao'an", scope: "district:Bao'an" } });
    expect(parseChannel('totals:district:福田')).toMatchObject({ ok: true, channel: { scope: 'district:福田' } });
  });

  it.each([
    ['all', 'totals:<scope>'],
    ['views:all', 'totals:<scope>'],
    ['totals:', 'scope must be'],
    ['totals:planet:Mars', 'unknown scope kind'],
    ['totals:district:', 'not allowed'],
    ['totals:district:<script>', 'not allowed'],
    [`totals:city:${'x'.repeat(129)}`, 'too long'],
  ])('rejects %j', (text, hint) => {
    expect(parseChannel(text)).toMatchObject({ ok: false, code: 'INVALID_CHANNEL', message: expect.stringContaining(hint) });
  });
});

describe('parseClientMessage', () => {
  it('reads the three client messages', () => {
    expect(parseClientMessage('{"type":"ping"}')).toEqual({ ok: true, message: { type: 'ping' } });
    expect(parseClientMessage('{"type":"subscribe","channel":"totals:all"}')).toEqual({ ok: true, message: { type: 'subscribe', channel: 'totals:all' } });
    expect(parseClientMessage('{"type":"unsubscribe","channel":"totals:all","extra":1}')).toEqual({ ok: true, message: { type: 'unsubscribe', channel: 'totals:all' } });
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
    expect(JSON.parse(errorFrame('INVALID_CHANNEL', 'bad', 'x'))).toEqual({ type: 'error', code: 'INVALID_CHANNEL', message: 'bad', channel: 'x' });
  });
});
