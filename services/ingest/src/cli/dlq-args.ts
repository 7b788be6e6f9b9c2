import { parseArgs } from 'node:util';
import type { OffsetRange, Selection } from '../dlq/selection';
import { UsageError } from './config';

export type DlqCommand =
  | { action: 'help' }
  | { action: 'list'; selection: Selection; output: 'table' | 'json' | 'raw'; timeoutMs: number }
  | { action: 'replay'; selection: Selection; apply: boolean; json: boolean; timeoutMs: number };

export const DEFAULT_LIST_LIMIT = 50;
export const DEFAULT_REPLAY_LIMIT = 10_000;
const MAX_LIMIT = 1_000_000;
export const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_TIMEOUT_MS = 3_600_000;
/** More offsets than any replay could need: a typo such as 0:0-99999999 is refused, not scanned. */
const MAX_RANGE_OFFSETS = 10_000_000n;

const UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `2h`, `7d`: a duration in ms, or undefined. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d{1,9})([smhd])$/.exec(raw.trim());
  return m ? Number(m[1]) * UNITS_MS[m[2]!]! : undefined;
}

/**
 * A point in time: a duration ago (`2h`), a date (`2024-08-23`, midnight UTC) or an ISO
 * time with its zone (`2024-08-23T10:00:00+08:00`, `…Z`); a time without a zone is
 * refused, since the operator's and the server's zones may differ.
 */
export function parseTime(raw: string, now: number, flag: string): number {
  const ago = parseDuration(raw);
  if (ago !== undefined) return now - ago;
  const text = raw.trim();
  const dated = /^\d{4}-\d{2}-\d{2}$/.test(text) || /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  const ms = dated ? Date.parse(text) : NaN;
  if (Number.isNaN(ms))
    throw new UsageError(
      `${flag} must be a duration ago (90s, 15m, 2h, 7d), a date (2024-08-23, UTC) or an ISO time with a zone (2024-08-23T10:00:00+08:00), got ${JSON.stringify(raw)}`,
    );
  return ms;
}

/** `0:12`, `0:20-25`, comma-separated: offsets of the dead-letter topic's partitions. */
export function parseOffsets(raw: string): OffsetRange[] {
  const ranges: OffsetRange[] = [];
  for (const part of raw.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const m = /^(\d{1,6}):(\d{1,19})(?:-(\d{1,19}))?$/.exec(part);
    const from = m ? BigInt(m[2]!) : 0n;
    const to = m?.[3] === undefined ? from : BigInt(m[3]);
    if (!m || to < from || to - from >= MAX_RANGE_OFFSETS)
      throw new UsageError(
        `--offsets takes partition:offset or partition:first-last of the dead-letter topic, comma-separated (e.g. 0:12,1:40-45), got ${JSON.stringify(part)}`,
      );
    ranges.push({ partition: Number(m[1]), from, to });
  }
  if (ranges.length === 0) throw new UsageError('--offsets names no offset');
  return ranges;
}

function parseReasons(values: readonly string[]): Set<string> | null {
  if (values.length === 0) return null;
  const reasons = new Set(
    values
      .flatMap((v) => v.split(','))
      .map((r) => r.trim())
      .filter(Boolean),
  );
  const bad = [...reasons].filter((r) => !/^[a-z_]+$/.test(r));
  if (reasons.size === 0 || bad.length > 0)
    throw new UsageError(`--reason takes reasons such as out_of_range or not_json, got ${JSON.stringify(values)}`);
  return reasons;
}

function parseCount(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_LIMIT)
    throw new UsageError(`--limit must be an integer between 1 and ${MAX_LIMIT}, got ${JSON.stringify(raw)}`);
  return n;
}

function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 1_000 || ms > MAX_TIMEOUT_MS)
    throw new UsageError(`--timeout must be a duration from 1s to 1h (e.g. 120s, 5m), got ${JSON.stringify(raw)}`);
  return ms;
}

const SELECTION_OPTIONS = {
  reason: { type: 'string', multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  offsets: { type: 'string' },
  limit: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `list …` or `replay …`; throws UsageError on anything else. */
export function parseDlqArgs(argv: readonly string[], now: number): DlqCommand {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') return { action: 'help' };
  if (action !== 'list' && action !== 'replay')
    throw new UsageError(`unknown dlq command ${JSON.stringify(action)}; expected list or replay`);
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options:
        action === 'list'
          ? { ...SELECTION_OPTIONS, raw: { type: 'boolean' } }
          : { ...SELECTION_OPTIONS, yes: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return { action: 'help' };
  const since = values.since === undefined ? null : parseTime(values.since, now, '--since');
  const until = values.until === undefined ? null : parseTime(values.until, now, '--until');
  if (since !== null && until !== null && since >= until) throw new UsageError('--since must lie before --until');
  const selection: Selection = {
    reasons: parseReasons(values.reason ?? []),
    since,
    until,
    offsets: values.offsets === undefined ? null : parseOffsets(values.offsets),
    limit: parseCount(values.limit, action === 'list' ? DEFAULT_LIST_LIMIT : DEFAULT_REPLAY_LIMIT),
  };
  const timeoutMs = parseTimeout(values.timeout);
  if (action === 'list') {
    if (values.json && 'raw' in values && values.raw) throw new UsageError('give --json or --raw, not both');
    const output = values.json ? 'json' : 'raw' in values && values.raw ? 'raw' : 'table';
    return { action, selection, output, timeoutMs };
  }
  return { action, selection, apply: 'yes' in values && values.yes === true, json: values.json === true, timeoutMs };
}
