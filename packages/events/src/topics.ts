/**
 * The Kafka topics events travel on, named once: service config defaults, the SDK's
 * Kafka transport and infra/create-topics.ts all take them from here.
 */
export const TOPICS = {
  events: 'livetally.events',
  deadLetters: 'livetally.events.dlq',
} as const;
