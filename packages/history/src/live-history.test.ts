import { describe, expect, it } from 'vitest';
import { unescapeTsv } from './live-history';

describe('TabSeparated fields', () => {
  it('undoes ClickHouse escaping, and leaves plain fields alone', () => {
    expect(unescapeTsv("district:Bao\\'an")).toBe("district:Bao'an");
    expect(unescapeTsv('a\\tb\\\\c\\nd')).toBe('a\tb\\c\nd');
    expect(unescapeTsv('v12345')).toBe('v12345');
  });
});
