import { describe, expect, it } from 'vitest';
import { checkReaderStatement, readerGrantsQuery, readerSettings } from './reader';

describe('the read-only account', () => {
  it('runs with readonly=2 last, or the stricter readonly=1 the request asks for', () => {
    expect(readerSettings([['max_threads', '2']])).toEqual([
      ['max_threads', '2'],
      ['readonly', '2'],
    ]);
    expect(
      readerSettings([
        ['readonly', '1'],
        ['max_threads', '2'],
      ]),
    ).toEqual([
      ['max_threads', '2'],
      ['readonly', '1'],
    ]);
    expect(readerSettings([['readonly', '2']])).toEqual([['readonly', '2']]);
  });

  it('cannot lift readonly', () => {
    for (const value of ['0', '', 'false', '3']) {
      expect(() => readerSettings([['readonly', value]]), value).toThrow(/Cannot modify 'readonly'/);
    }
  });

  it('runs only reading statements', () => {
    for (const type of [
      'SelectWithUnionQuery',
      'Explain',
      'ShowTables',
      'ShowColumns',
      'ShowCreateTableQuery',
      'DescribeQuery',
      'ExistsTableQuery',
      'ShowGrantsQuery',
    ]) {
      expect(() => checkReaderStatement(type, 'r'), type).not.toThrow();
    }
    for (const type of [
      'InsertQuery',
      'CreateQuery',
      'DropQuery',
      'AlterQuery',
      'Set',
      'UseQuery',
      'OptimizeQuery',
      'KillQueryQuery',
      'SYSTEM query',
    ]) {
      expect(() => checkReaderStatement(type, 'r'), type).toThrow(/readonly mode/);
    }
  });

  it('is told its own grants', () => {
    expect(readerGrantsQuery('lt_reader').params.grant).toBe('GRANT SHOW, SELECT ON *.* TO lt_reader');
  });
});
