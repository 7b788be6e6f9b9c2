import { describe, expect, it } from 'vitest';
import { FLAGS, MODES } from './config';
import { SIMULATOR_USAGE } from './usage';

describe('SIMULATOR_USAGE', () => {
  it('names every flag and mode the simulator parses', () => {
    const missing = [...Object.keys(FLAGS).map((f) => `--${f}`), ...MODES].filter((w) => !SIMULATOR_USAGE.includes(w));
    expect(missing).toEqual([]);
  });
});
