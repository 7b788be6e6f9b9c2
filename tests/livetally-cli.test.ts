import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../infra/livetally/commands';
import { runLivetally } from './support/cli';

/** As an operator would run it: from a directory outside the repository. */
const livetally = (args: string[], env: Record<string, string> = {}) => runLivetally(args, env, { cwd: tmpdir() });

describe('the livetally command line', () => {
  it('lists every command, and exits 2 without one', async () => {
    const r = await livetally([]);
    expect(r.code).toBe(2);
    for (const c of COMMANDS) expect(r.stderr).toMatch(new RegExp(`^  ${c.name} +\\S`, 'm'));
  });

  it.each(COMMANDS.map((c) => c.name))('prints the help of %s and exits 0', async (name) => {
    const r = await livetally([name, '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: (livetally|npm run)/);
    expect((await livetally(['help', name])).stdout).toBe(r.stdout);
  });

  it('refuses an unknown command and a stack action it does not offer, running nothing', async () => {
    const unknown = await livetally(['stak', 'up']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "stak"');
    const reset = await livetally(['stack', 'reset']);
    expect(reset.code).toBe(2);
    expect(reset.stderr).toContain('livetally stack: expected one of up, down, status, got "reset"');
    expect(reset.stdout).toBe('');
  });

  it('runs the stack script: status of the shared stack', async () => {
    const r = await livetally(['stack', 'status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kafka\s+up/);
  });

  it("passes arguments to the command's script and exits with its code", async () => {
    const verify = await livetally(['token', '--verify', 'not-a-token'], {
      GATEWAY_TOKEN_SECRETS: `k1:${'s'.repeat(32)}`,
    });
    expect(verify.code).toBe(1);
    expect(JSON.parse(verify.stdout)).toMatchObject({ valid: false });
    const badLimit = await livetally(['dlq', 'list', '--limit', '0']);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain('--limit must be an integer between 1 and');
  });
});
