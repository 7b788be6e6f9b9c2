import { describe, expect, it } from 'vitest';
import { evictionPolicyProblem } from './redis-eviction';

describe('evictionPolicyProblem', () => {
  it('accepts only noeviction and says what to set otherwise', () => {
    expect(evictionPolicyProblem('noeviction')).toBeUndefined();
    for (const policy of [
      'allkeys-lru',
      'allkeys-lfu',
      'allkeys-random',
      'volatile-lru',
      'volatile-lfu',
      'volatile-random',
      'volatile-ttl',
    ]) {
      expect(evictionPolicyProblem(policy), policy).toMatch(
        new RegExp(`^Redis maxmemory-policy is ${policy}; ingest needs noeviction.*--maxmemory-policy noeviction`),
      );
    }
  });

  it('refuses a policy it cannot read, rather than guessing', () => {
    expect(evictionPolicyProblem(undefined)).toMatch(
      /^Redis maxmemory-policy could not be read \(CONFIG GET and INFO memory were refused\); ingest needs noeviction/,
    );
  });
});
