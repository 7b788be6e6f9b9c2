import { describe, expect, it } from 'vitest';
import { topicReplication } from './topics';

describe('topicReplication', () => {
  it('keeps one copy on a single broker', () => {
    expect(topicReplication(1)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
  });

  it('writes to three brokers and acknowledges once two hold the write', () => {
    expect(topicReplication(3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('never asks for more copies than brokers, and at most three', () => {
    expect(topicReplication(2)).toEqual({ replicationFactor: 2, minInsyncReplicas: 1 });
    expect(topicReplication(7)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });
});
