import { describe, expect, it } from 'vitest';
import { defaultText, describeEnv, renderEnvExample } from './env-example';
import { bool, hostPorts, int, str } from './index';

describe('defaultText', () => {
  it('writes a default as an env file would set it, and nothing for a required variable', () => {
    expect(defaultText(hostPorts('a:1,b:2'), 'BROKERS')).toBe('a:1,b:2');
    expect(defaultText(int(500, 1, 1000), 'BATCH')).toBe('500');
    expect(defaultText(bool(false), 'DEBUG')).toBe('false');
    expect(defaultText(str(''), 'EMPTY')).toBe('');
    expect(defaultText(str(), 'NAME')).toBeUndefined();
  });
});

describe('renderEnvExample', () => {
  it('lists every variable commented out with its default under its description, per section', () => {
    const reference = describeEnv(
      { PORT: int(8080, 0, 65_535), SECRET: str() },
      { PORT: 'Where it listens.', SECRET: 'Signs tokens.' },
    );
    expect(renderEnvExample('Generated.', [{ title: 'gateway', reference }])).toBe(
      [
        '# Generated.',
        '',
        '# ---- gateway ----',
        '',
        '# Where it listens.',
        '# PORT=8080',
        '',
        '# Signs tokens. Required.',
        '# SECRET=',
        '',
      ].join('\n'),
    );
  });

  it('wraps long descriptions at 100 characters', () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const text = renderEnvExample('h', [{ title: 't', reference: describeEnv({ A: str('x') }, { A: words }) }]);
    const lines = text.split('\n').filter((l) => l.startsWith('# word'));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.every((l) => l.length <= 100)).toBe(true);
    expect(lines.join(' ').replace(/# /g, '')).toBe(words);
  });
});
