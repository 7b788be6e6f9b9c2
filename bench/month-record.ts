/**
 * npm run bench:month-record [-- --from bench-results/results.json]
 *
 * Writes the record of a finished month at full scale into README.md (its marked
 * section), points docs/benchmarks.md at it, and keeps the whole result as
 * docs/bench/month-scale1.json. Refuses (exit 1, with the reason) a result that is not
 * the whole month at scale 1 with every figure exact (bench/lib/month-record.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { MONTH_RECORD_BEGIN, MONTH_RECORD_END, monthRecordSection, replaceMonthRecord } from './lib/month-record';
import type { BenchResults } from './lib/report';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const fromAt = args.findIndex((a) => a === '--from');
const from = resolve(fromAt >= 0 && args[fromAt + 1] ? args[fromAt + 1]! : join(ROOT, 'bench-results/results.json'));

function rewrite(file: string, section: string): void {
  const path = join(ROOT, file);
  writeFileSync(path, replaceMonthRecord(readFileSync(path, 'utf8'), section));
  process.stdout.write(`month-record: ${file} updated\n`);
}

try {
  const results = JSON.parse(readFileSync(from, 'utf8')) as BenchResults;
  rewrite('README.md', monthRecordSection(results));
  rewrite(
    'docs/benchmarks.md',
    [
      MONTH_RECORD_BEGIN,
      `**The month at scale 1 ran to the end, every figure exact**, on ${results.date.slice(0, 10)}: its figures, the`,
      `targets and the campaign screen are in the [README](../README.md#shenzhens-campaign-month-at-full-scale), the whole result in`,
      `[bench/month-scale1.json](bench/month-scale1.json). The starts before it, and what each measured, follow.`,
      MONTH_RECORD_END,
    ].join('\n'),
  );
  // Formatted as the repository's other JSON, so `prettier --check` (part of npm test) passes.
  const kept = join(ROOT, 'docs/bench/month-scale1.json');
  writeFileSync(kept, await format(readFileSync(from, 'utf8'), { ...(await resolveConfig(kept)), parser: 'json' }));
  process.stdout.write(`month-record: ${from} kept as docs/bench/month-scale1.json\n`);
} catch (err) {
  process.stderr.write(`month-record: ${(err as Error).message}\n`);
  process.exit(1);
}
