import { shortPosition, type Letter } from './letter';
import type { LetterScan } from './letter-reader';
import type { LedgerEntry } from './replay-ledger';
import type { ReplayReport } from './replayer';

const PREVIEW_CHARS = 160;
const PREVIEW_HEX_BYTES = 48;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The value as text if it is UTF-8, else null. */
export function asText(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** One line that shows what the bytes are: text with control characters escaped and cut, or the first bytes in hex. */
export function preview(bytes: Buffer, maxChars = PREVIEW_CHARS): string {
  if (bytes.length === 0) return '(empty)';
  const text = asText(bytes);
  if (text === null) {
    const hex = bytes.subarray(0, PREVIEW_HEX_BYTES).toString('hex');
    return `hex ${hex}${bytes.length > PREVIEW_HEX_BYTES ? '…' : ''} (not UTF-8)`;
  }
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped.length > maxChars ? `${escaped.slice(0, maxChars)}…` : escaped;
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : '?');

function valueSummary(letter: Letter): string {
  if (letter.value === 'original') return `original ${letter.bytes.length} B`;
  if (letter.value === 'truncated') return `truncated ${letter.bytes.length}/${letter.originalBytes} B`;
  return `omitted ${letter.originalBytes} B`;
}

function replayedSummary(entry: LedgerEntry | undefined): string {
  if (!entry) return '-';
  if (entry.state === 'pending') return 'interrupted';
  return `${entry.target.partition}@${entry.offset ?? '?'}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** What a scan read, and where it stopped short. */
function scanHeader(scan: LetterScan): string {
  const lines = [
    `${scan.topic}: ${scan.matched} letter(s) match of ${scan.scanned} record(s) read${scan.foreign > 0 ? ` (${scan.foreign} not LiveTally letters)` : ''}`,
  ];
  if (scan.unfinished.length > 0)
    lines.push(
      `INCOMPLETE: not read to the end within --timeout: ${scan.unfinished.map((r) => `partition ${r.partition} from ${r.from} to ${r.to}`).join(', ')}`,
    );
  return lines.join('\n');
}

/** `dlq list`: the letters per reason, then each kept letter with its errors and a preview of its original. */
export function formatList(
  scan: LetterScan,
  ledger: ReadonlyMap<string, LedgerEntry> | null,
  idOf: (l: Letter) => string,
): string {
  const out = [scanHeader(scan)];
  if (scan.byReason.length > 0) {
    out.push(
      '',
      table([
        ['REASON', 'LETTERS', 'FIRST FAILED', 'LAST FAILED'],
        ...scan.byReason.map((r) => [r.reason, String(r.letters), iso(r.firstFailedAt), iso(r.lastFailedAt)]),
      ]),
    );
  }
  if (scan.letters.length === 0) return `${out.join('\n')}\n`;
  out.push(
    '',
    `${scan.letters.length < scan.matched ? `the ${scan.letters.length} earliest (--limit)` : 'all'}, by time of failure:`,
  );
  const rows = [['LETTER', 'FAILED AT', 'REASON', 'STEP', 'ORIGINAL', 'VALUE', 'REPLAYED']];
  const details: string[][] = [];
  for (const l of scan.letters) {
    rows.push([
      shortPosition(l.at),
      iso(l.failedAt),
      l.reason,
      l.step,
      `${l.source.topic} ${shortPosition(l.source)}`,
      valueSummary(l),
      ledger ? replayedSummary(ledger.get(idOf(l))) : '?',
    ]);
    const errors = (l.errors ?? []).map((e) => `${e.field}: ${e.message}`).join('; ');
    details.push([errors, preview(l.bytes)]);
  }
  const lines = table(rows).split('\n');
  out.push(lines[0]!);
  lines.slice(1).forEach((line, i) => {
    out.push(line, `    errors: ${details[i]![0] || '(none recorded)'}`, `    value:  ${details[i]![1]}`);
  });
  return `${out.join('\n')}\n`;
}

/** A letter as JSON, its bytes whole (base64, and as text when UTF-8). */
export function letterJson(letter: Letter, replayed?: LedgerEntry | null): Record<string, unknown> {
  return {
    letter: { ...letter.at },
    failedAt: iso(letter.failedAt),
    reason: letter.reason,
    step: letter.step,
    errors: letter.errors,
    original: { ...letter.source },
    value: {
      kind: letter.value,
      bytes: letter.bytes.length,
      originalBytes: letter.originalBytes,
      originalSha256: letter.originalSha256,
      base64: letter.bytes.toString('base64'),
      text: asText(letter.bytes),
    },
    key: letter.key === null ? null : { base64: letter.key.toString('base64'), text: asText(letter.key) },
    parked: letter.parked,
    ...(replayed === undefined ? {} : { replayed }),
  };
}

export function listJson(
  scan: LetterScan,
  ledger: ReadonlyMap<string, LedgerEntry> | null,
  idOf: (l: Letter) => string,
): Record<string, unknown> {
  return {
    topic: scan.topic,
    scanned: scan.scanned,
    foreign: scan.foreign,
    matched: scan.matched,
    complete: scan.unfinished.length === 0,
    unfinished: scan.unfinished,
    byReason: scan.byReason.map((r) => ({
      ...r,
      firstFailedAt: iso(r.firstFailedAt),
      lastFailedAt: iso(r.lastFailedAt),
    })),
    letters: scan.letters.map((l) => letterJson(l, ledger ? (ledger.get(idOf(l)) ?? null) : undefined)),
  };
}

/** `dlq replay`: what was (or, dry run, would be) sent, skipped and refused, and why. */
export function formatReplay(report: ReplayReport): string {
  const sentWord = report.applied ? 'replayed' : 'would replay (dry run: add --yes to send)';
  const out = [`${sentWord}: ${report.replayed.length}`];
  for (const { letter, copy } of report.replayed)
    out.push(
      `  ${shortPosition(letter.at)}  ${letter.reason}  original ${shortPosition(letter.source)}${copy ? ` → ${copy.topic} ${shortPosition(copy)}` : ''}`,
    );
  if (report.recovered.length > 0) {
    out.push(`already sent by an interrupted replay, now recorded: ${report.recovered.length}`);
    for (const { letter, copy } of report.recovered)
      out.push(`  ${shortPosition(letter.at)}  original ${shortPosition(letter.source)} → ${shortPosition(copy)}`);
  }
  if (report.alreadyReplayed.length > 0) {
    out.push(`skipped, replayed before: ${report.alreadyReplayed.length}`);
    for (const { letter, entry } of report.alreadyReplayed)
      out.push(
        `  ${shortPosition(letter.at)}  original ${shortPosition(letter.source)} → ${entry.target.topic} ${entry.target.partition}@${entry.offset ?? '?'} at ${entry.at}`,
      );
  }
  if (report.sameOriginal.length > 0) {
    out.push(`skipped, another letter of the same original is replayed: ${report.sameOriginal.length}`);
    for (const { letter, as } of report.sameOriginal) out.push(`  ${shortPosition(letter.at)}  as ${as}`);
  }
  if (report.counted.length > 0) {
    out.push(`skipped, the event is already counted (stored from another copy): ${report.counted.length}`);
    for (const { letter, stored } of report.counted)
      out.push(
        `  ${shortPosition(letter.at)}  original ${shortPosition(letter.source)}, stored from ${stored.topic} ${shortPosition(stored)}`,
      );
  }
  if (report.refused.length > 0) {
    out.push(`refused: ${report.refused.length}`);
    for (const { letter, why } of report.refused) out.push(`  ${shortPosition(letter.at)}  ${letter.reason}: ${why}`);
  }
  return `${out.join('\n')}\n`;
}

export function replayJson(report: ReplayReport): Record<string, unknown> {
  const brief = (l: Letter) => ({ letter: { ...l.at }, reason: l.reason, original: { ...l.source } });
  return {
    applied: report.applied,
    replayed: report.replayed.map(({ letter, copy }) => ({ ...brief(letter), copy })),
    recovered: report.recovered.map(({ letter, copy }) => ({ ...brief(letter), copy })),
    alreadyReplayed: report.alreadyReplayed.map(({ letter, entry }) => ({ ...brief(letter), entry })),
    sameOriginal: report.sameOriginal.map(({ letter, as }) => ({ ...brief(letter), as })),
    counted: report.counted.map(({ letter, stored }) => ({ ...brief(letter), stored })),
    refused: report.refused.map(({ letter, why }) => ({ ...brief(letter), why })),
  };
}
