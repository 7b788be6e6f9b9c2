import { describe, expect, it } from 'vitest';
import { parseAstDump } from './dump';
import { externalAccess } from './external';

// Recorded from `EXPLAIN AST` on ClickHouse 26.7 (chDB).
const SELECT_FILE = `SelectWithUnionQuery (children 1)
 ExpressionList (children 1)
  SelectQuery (children 1)
   ExpressionList (children 1)
    Function file (children 1)
     ExpressionList (children 1)
      Literal \\'/etc/hostname\\'`;

const OUTFILE_BEHIND_HEREDOC = `SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 1)
   ExpressionList (children 1)
    Literal \\' INTO OUTFILE \\'
 Literal \\'/tmp/x\\'`;

const CREATE_WITH_COMMENT = `CreateQuery x (children 3)
 Identifier x
 Columns definition (children 1)
  ExpressionList (children 1)
   ColumnDeclaration a (children 1)
    DataType UInt8
 Literal \\'tc\\'`;

describe('parseAstDump', () => {
  it('reads types, names, aliases and nesting', () => {
    const parsed = parseAstDump(
      'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  TableIdentifier default.lt_events (alias e)\n',
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const table = parsed.root.children[0]!.children[0]!;
    expect(table).toMatchObject({ type: 'TableIdentifier', name: 'default.lt_events', alias: 'e', depth: 2 });
  });

  it('reads node types that contain a space', () => {
    const parsed = parseAstDump(CREATE_WITH_COMMENT);
    expect(parsed.ok && parsed.root.children.map((c) => c.type)).toEqual([
      'Identifier',
      'Columns definition',
      'Literal',
    ]);
  });

  it('refuses a dump whose counts do not add up (a line break smuggled in through an alias)', () => {
    const smuggled =
      'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Literal UInt64_1 (alias a\n    Literal x)';
    const parsed = parseAstDump(smuggled);
    expect(parsed).toMatchObject({ ok: false });
    expect(!parsed.ok && parsed.reason).toMatch(/does not add up/);
  });

  it('refuses a second root', () => {
    expect(parseAstDump('ShowTables\nShowTables')).toMatchObject({ ok: false });
  });

  it('refuses a line nested two levels deeper than its parent', () => {
    expect(parseAstDump('ShowTables (children 1)\n   Identifier x')).toMatchObject({ ok: false });
  });
});

describe('externalAccess', () => {
  const access = (dump: string) => {
    const parsed = parseAstDump(dump);
    if (!parsed.ok) throw new Error(parsed.reason);
    return externalAccess(parsed.root);
  };

  it('names file() however it was quoted in the statement', () => {
    expect(access(SELECT_FILE)).toMatch(/file reads or writes outside/);
  });

  it('finds the INTO OUTFILE path a dollar-quoted string tried to hide', () => {
    expect(access(OUTFILE_BEHIND_HEREDOC)).toBe('INTO OUTFILE is not accepted');
  });

  it('lets a CREATE keep its COMMENT literal', () => {
    expect(access(CREATE_WITH_COMMENT)).toBeUndefined();
  });

  it('finds external table engines and dictionary sources', () => {
    expect(access('CreateQuery x (children 1)\n Storage definition (children 1)\n  Function File')).toMatch(
      /File reads or writes/,
    );
    expect(access('CreateQuery d (children 1)\n Dictionary definition')).toMatch(/dictionaries/);
    expect(access('BackupQuery (children 1)\n Function Disk')).toMatch(/BACKUP/);
  });
});
