/**
 * The Kafka topics events travel on, named once: service config defaults, the SDK's
 * Kafka transport and infra/create-topics.ts all take them from here.
 */
export const TOPICS = {
  events: 'livetally.events',
  deadLetters: 'livetally.events.dlq',
} as const;

export interface TopicReplication {
  /** Copies of every partition, one per broker. */
  replicationFactor: number;
  /** Copies that must hold a write before an acks=all producer hears it succeeded (the topic's min.insync.replicas). */
  minInsyncReplicas: number;
}

/**
 * How the topics are replicated on a cluster of `brokers` brokers: up to three copies,
 * of which all but one must hold an acknowledged write, so one broker can die without
 * losing an acknowledged event or refusing new ones (three brokers: 3 and 2; one: 1 and 1).
 * infra/create-topics.ts and the tests' topics follow it.
 */
export function topicReplication(brokers: number): TopicReplication {
  const replicationFactor = Math.min(3, Math.max(1, Math.floor(brokers)));
  return { replicationFactor, minInsyncReplicas: Math.max(1, replicationFactor - 1) };
}
