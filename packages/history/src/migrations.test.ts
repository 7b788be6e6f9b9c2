import { describe, expect, it } from 'vitest';
import { MEASURES } from '@livetally/events';
import { rollupColumn, rollupColumnDefinition } from './counting-sql';
import { MIGRATIONS } from './migrations';

describe('migrations', () => {
  it('give the rollup a column of the right type for every measure of the counting rule', () => {
    const text = MIGRATIONS.flatMap((m) => m.statements).join('\n');
    for (const m of MEASURES) expect(text, m).toContain(rollupColumnDefinition(m));
  });

  it('point the rollup view at the rule once the last measure column is added', () => {
    const adding = MIGRATIONS.filter((m) =>
      m.statements.some((s) => /ALTER TABLE lt_rollup_minute ADD COLUMN/.test(s)),
    ).map((m) => m.version);
    const refreshing = MIGRATIONS.filter((m) => m.refreshesRollupView).map((m) => m.version);
    expect(Math.max(...refreshing)).toBeGreaterThanOrEqual(Math.max(...adding));
    expect(rollupColumn('likes')).toBe('likes');
  });
});
