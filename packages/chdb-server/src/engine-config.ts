import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The engine's own server configuration, written under the data directory at every
 * start. chDB is clickhouse-local: its one built-in user may do anything, file() and
 * friends read any path, and server paths default to /var/lib/clickhouse. Here the
 * engine's user gets a profile and grants as a ClickHouse server's would, so the
 * engine itself refuses what no LiveTally statement needs:
 *  - no source privileges (READ/WRITE ON FILE, URL, S3, REMOTE, MYSQL, …) and no SYSTEM,
 *    BACKUP or CREATE DICTIONARY (a dictionary's EXECUTABLE source runs commands);
 *  - settings that name files or hosts, or change how text is parsed, are fixed;
 *  - VALUES data is never evaluated as expressions (file('/etc/passwd') in a VALUES row);
 *  - user files, format schemas and user scripts live in empty folders of the data directory.
 * What grants cannot stop (the scalar file(), INTO OUTFILE, FROM INFILE) is refused
 * from the statement's parse before it runs (statement-guard.ts).
 */

const GRANTS = [
  'SHOW',
  'SELECT',
  'INSERT',
  'ALTER',
  'CREATE DATABASE',
  'CREATE TABLE',
  'CREATE VIEW',
  'CREATE TEMPORARY TABLE',
  'DROP',
  'TRUNCATE',
  'OPTIMIZE',
  'KILL QUERY',
  'dictGet',
];

/** Profile settings with their fixed values; a request or SETTINGS clause changing one fails (SETTING_CONSTRAINT_VIOLATION). */
const FIXED_SETTINGS: Record<string, string> = {
  input_format_values_interpret_expressions: '0',
  input_format_values_deduce_templates_of_expressions: '0',
  format_template_resultset: '',
  format_template_row: '',
  format_schema: '',
  output_format_schema: '',
  format_avro_schema_registry_url: '',
  // The statement is checked as ClickHouse SQL; another dialect would run something else.
  dialect: 'clickhouse',
  implicit_select: '0',
  allow_settings_after_format_in_insert: '0',
};

export interface EngineFiles {
  /** Passed to every chdb session as --config-file. */
  configFile: string;
  userFilesPath: string;
}

export function writeEngineConfig(dataDir: string): EngineFiles {
  const dir = path.join(dataDir, 'chdb-server');
  const userFilesPath = path.join(dataDir, 'user_files');
  const formatSchemaPath = path.join(dataDir, 'format_schemas');
  const userScriptsPath = path.join(dataDir, 'user_scripts');
  for (const d of [dir, userFilesPath, formatSchemaPath, userScriptsPath])
    mkdirSync(d, { recursive: true, mode: 0o700 });

  const usersFile = path.join(dir, 'users.xml');
  const configFile = path.join(dir, 'config.xml');
  writeFileSync(usersFile, usersXml(), { mode: 0o600 });
  writeFileSync(
    configFile,
    `<clickhouse>
  <users_config>${xml(usersFile)}</users_config>
  <user_files_path>${xml(userFilesPath)}/</user_files_path>
  <format_schema_path>${xml(formatSchemaPath)}/</format_schema_path>
  <user_scripts_path>${xml(userScriptsPath)}/</user_scripts_path>
</clickhouse>
`,
    { mode: 0o600 },
  );
  return { configFile, userFilesPath };
}

function usersXml(): string {
  const settings = Object.entries(FIXED_SETTINGS)
    .map(([name, value]) => `      <${name}>${xml(value)}</${name}>`)
    .join('\n');
  const constraints = Object.keys(FIXED_SETTINGS)
    .map((name) => `        <${name}><const/></${name}>`)
    .join('\n');
  return `<clickhouse>
  <profiles>
    <default>
${settings}
      <constraints>
${constraints}
      </constraints>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
      <grants><query>GRANT ${GRANTS.join(', ')} ON *.*</query></grants>
    </default>
  </users>
  <quotas><default></default></quotas>
</clickhouse>
`;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
