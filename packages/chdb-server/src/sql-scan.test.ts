import { describe, expect, it } from 'vitest';
import { isBlankFrom, scanSql } from './sql-scan';

describe('scanSql', () => {
  it('finds the leading keyword past comments and whitespace', () => {
    expect(scanSql('  -- note\n/* a /* nested */ b */ select 1').keyword).toBe('SELECT');
    expect(scanSql('SET max_threads = 1').keyword).toBe('SET');
    expect(scanSql('(SELECT 1)').keyword).toBe('');
  });

  it('reports the FORMAT clause that ends a query', () => {
    expect(scanSql('SELECT 1 \nFORMAT JSONEachRow').outputFormat).toBe('JSONEachRow');
    expect(scanSql('SELECT 1 FORMAT JSON SETTINGS max_threads = 1').outputFormat).toBe('JSON');
    expect(scanSql('SELECT 1 FORMAT CSV;').outputFormat).toBe('CSV');
  });

  it('does not mistake a column or function called format for the clause', () => {
    expect(scanSql('SELECT format FROM t').outputFormat).toBeUndefined();
    expect(scanSql("SELECT format('{}', 1)").outputFormat).toBeUndefined();
    expect(scanSql("SELECT 'FORMAT JSON'").outputFormat).toBeUndefined();
    expect(scanSql('SELECT * FROM (SELECT 1 FORMAT JSON)').outputFormat).toBeUndefined();
  });

  it('locates where an INSERT’s inline data starts and stops lexing there', () => {
    const sql = 'INSERT INTO t (a, format) FORMAT JSONEachRow\n{"a":"x;y\'"};{"a":1}';
    const shape = scanSql(sql);
    expect(shape.keyword).toBe('INSERT');
    expect(shape.insertFormat).toBe('JSONEachRow');
    expect(sql.slice(shape.dataOffset)).toBe('\n{"a":"x;y\'"};{"a":1}');
    expect(shape.multiStatement).toBe(false);
  });

  it('detects a second statement but allows a trailing semicolon', () => {
    expect(scanSql('SELECT 1; SELECT 2').multiStatement).toBe(true);
    expect(scanSql('SELECT 1;').multiStatement).toBe(false);
    expect(scanSql('SELECT 1; -- done\n').multiStatement).toBe(false);
    expect(scanSql('SELECT \';\', `a;b`, "c;d", $$e;f$$').multiStatement).toBe(false);
    expect(scanSql("SELECT 'it\\'s; fine', 'doubled '' ; quote'").multiStatement).toBe(false);
  });

  it('isBlankFrom checks only whitespace remains', () => {
    expect(isBlankFrom('abc  \n', 3)).toBe(true);
    expect(isBlankFrom('abc  x', 3)).toBe(false);
  });
});
