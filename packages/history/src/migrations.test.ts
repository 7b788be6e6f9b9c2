import { describe, expect, it } from 'vitest';
import { MEASURES } from '@livetally/events';
import { rollupColumn, rollupColumnDefinition } from './counting-sql';
import { MIGRATIONS } from './migrations';
import { ROLLUPS } from './rollups';

/** The version whose statements create the rollup's table. */
const createdIn = (table: string) =>
  MIGRATIONS.find((m) => m.statements.some((s) => s.includes(`CREATE TABLE IF NOT EXISTS ${table} (`)))!.version;

describe('migrations', () => {
  it('give the rollup a column of the right type for every measure of the counting rule', () => {
    const text = MIGRATIONS.flatMap((m) => m.statements).join('\n');
    for (const m of MEASURES) expect(text, m).toContain(rollupColumnDefinition(m));
  });

  it('point the rollup view at the rule once the last measure column is added', () => {
    const adding = MIGRATIONS.filter((m) =>
      m.statements.some((s) => /ALTER TABLE lt_rollup_\w+ ADD COLUMN/.test(s)),
    ).map((m) => m.version);
    const refreshing = MIGRATIONS.filter((m) => m.refreshesRollupView).map((m) => m.version);
    expect(Math.max(...refreshing)).toBeGreaterThanOrEqual(Math.max(...adding));
    expect(rollupColumn('likes')).toBe('likes');
  });

  it('add a measure column to every rollup that exists by then, and fill new rollups through the refresh', () => {
    for (const m of MIGRATIONS) {
      const added = m.statements.flatMap((s) => {
        const match = /^ALTER TABLE (lt_rollup_\w+) ADD COLUMN IF NOT EXISTS (.+)$/s.exec(s);
        return match ? [{ table: match[1]!, column: match[2]! }] : [];
      });
      for (const column of new Set(added.map((a) => a.column))) {
        const existing = ROLLUPS.filter((r) => createdIn(r.table) < m.version).map((r) => r.table);
        const to = added.filter((a) => a.column === column).map((a) => a.table);
        expect(to, `version ${m.version}: ${column}`).toEqual(expect.arrayContaining(existing));
      }
    }
    // settleRollups creates a new rollup's view and fills it after the last refreshing version.
    for (const r of ROLLUPS.filter((r) => r.fenced))
      expect(MIGRATIONS.find((m) => m.version === createdIn(r.table))?.refreshesRollupView, r.table).toBe(true);
  });
});
