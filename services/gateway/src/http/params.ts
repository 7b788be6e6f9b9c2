import { parseScope } from '@livetally/events';
import type { Granularity, HistorySubject } from '@livetally/history';
import { GatewayError } from '../errors';

const MINUTE = 60_000;
const DAY = 86_400_000;
const YEAR_2000 = Date.UTC(2000, 0, 1);
const YEAR_2100 = Date.UTC(2100, 0, 1);

/** Longest range each kind of query may cover; minute series are capped hardest (up to 10 080 buckets). */
export const MAX_RANGE_MS: Record<Granularity | 'any', number> = {
  minute: 7 * DAY,
  hour: 400 * DAY,
  day: 3_660 * DAY,
  any: 3_660 * DAY,
};

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * An instant as ms since epoch or ISO-8601 with a zone offset (2024-08-23T00:00:00+08:00).
 * History is kept per minute, so instants must fall on a whole minute: answering a
 * half-minute exactly is impossible, and silently rounding would hide that.
 */
export function parseInstant(name: string, raw: string): number {
  let t: number;
  if (/^\d{1,15}$/.test(raw)) t = Number(raw);
  else if (ISO_WITH_OFFSET.test(raw)) t = Date.parse(raw);
  else
    throw new GatewayError(
      'INVALID_RANGE',
      `${name} must be ms since epoch or ISO-8601 with a zone offset (e.g. 2024-08-23T00:00:00+08:00), got ${JSON.stringify(raw.slice(0, 64))}`,
    );
  if (Number.isNaN(t) || t < YEAR_2000 || t >= YEAR_2100)
    throw new GatewayError(
      'INVALID_RANGE',
      `${name} is not a date between 2000 and 2100: ${JSON.stringify(raw.slice(0, 64))}`,
    );
  if (t % MINUTE !== 0)
    throw new GatewayError(
      'INVALID_RANGE',
      `${name} must fall on a whole minute (history is kept per minute), got ${new Date(t).toISOString()}`,
    );
  return t;
}

/** [from, to) from query text; `to` after `from` and the span within the cap for `kind`. */
export function parseRange(
  query: { from: string; to: string },
  kind: Granularity | 'any' = 'any',
): { from: number; to: number } {
  const from = parseInstant('from', query.from);
  const to = parseInstant('to', query.to);
  return checkRange(from, to, kind);
}

export function checkRange(from: number, to: number, kind: Granularity | 'any' = 'any'): { from: number; to: number } {
  if (to <= from) throw new GatewayError('INVALID_RANGE', 'to must be after from');
  const max = MAX_RANGE_MS[kind];
  if (to - from > max) {
    const what = kind === 'any' ? 'a query' : `a ${kind} series`;
    throw new GatewayError(
      'INVALID_RANGE',
      `the range is ${formatDays(to - from)} long; ${what} covers at most ${formatDays(max)}`,
    );
  }
  return { from, to };
}

function formatDays(ms: number): string {
  const days = ms / DAY;
  return Number.isInteger(days) ? `${days} days` : `${days.toFixed(2)} days`;
}

/**
 * The history subject for a scope text. Rollups have no stream or campaign column:
 * per-stream history is answered from lt_events through POST /v1/sql, campaign
 * history by /v1/campaigns/:id/history.
 */
export function subjectFromScope(scopeText: string | undefined): HistorySubject {
  const parsed = parseScope(scopeText ?? 'all');
  if (!parsed.ok) throw new GatewayError('INVALID_SCOPE', parsed.message);
  const { kind, value } = parsed.scope;
  if (kind === 'all') return { kind: 'all' };
  if (kind === 'stream') {
    throw new GatewayError(
      'INVALID_SCOPE',
      "per-stream history is not in the per-minute rollups; query the raw events in lt_events through POST /v1/sql (e.g. WHERE stream_id = '…')",
    );
  }
  if (kind === 'campaign')
    throw new GatewayError('INVALID_SCOPE', `campaign history is served by GET /v1/campaigns/${value}/history`);
  return { kind, value };
}

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
