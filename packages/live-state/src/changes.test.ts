import { describe, expect, it } from 'vitest';
import { decodeChangedScopes, encodeChangedScopes } from './changes';

describe('change message', () => {
  it('carries the scopes, including ones with colons, braces and quotes', () => {
    const scopes = ['all', 'campaign:spring', 'city:{x}', 'host:"h"'];
    expect(decodeChangedScopes(encodeChangedScopes(scopes))).toEqual(scopes);
  });

  it('leaves out entries that are not scopes and refuses what is not a list', () => {
    expect(decodeChangedScopes('["all",1,null,"city:x"]')).toEqual(['all', 'city:x']);
    expect(decodeChangedScopes('{"all":1}')).toBeNull();
    expect(() => decodeChangedScopes('not json')).toThrow();
  });
});
