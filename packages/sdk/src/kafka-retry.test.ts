import { describe, expect, it } from 'vitest';
import { worthRetrying } from './kafka-transport';

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });

describe('worthRetrying (which Kafka failures the client retries)', () => {
  it('retries what kafkajs marks retriable and what comes from the cluster state', () => {
    expect(worthRetrying(named('KafkaJSError', { retriable: true }))).toBe(true);
    expect(worthRetrying(named('KafkaJSConnectionError', { retriable: false }))).toBe(true);
  });

  it("retries kafkajs's own give-up when its cause was a broker down (a failover)", () => {
    const refused = named('KafkaJSConnectionError', { retriable: true });
    expect(worthRetrying(named('KafkaJSNumberOfRetriesExceeded', { retriable: false, originalError: refused }))).toBe(
      true,
    );
    expect(worthRetrying(named('KafkaJSNonRetriableError', { retriable: false, originalError: refused }))).toBe(true);
  });

  it('fails a batch the broker refuses, and a missing kafkajs, at once', () => {
    const tooLarge = named('KafkaJSProtocolError', { retriable: false, type: 'MESSAGE_TOO_LARGE' });
    expect(worthRetrying(tooLarge)).toBe(false);
    expect(worthRetrying(named('KafkaJSNumberOfRetriesExceeded', { retriable: false, originalError: tooLarge }))).toBe(
      false,
    );
    expect(worthRetrying(Object.assign(new Error('needs kafkajs'), { retriable: false }))).toBe(false);
    expect(worthRetrying(named('KafkaJSNumberOfRetriesExceeded', { retriable: false }))).toBe(false);
  });
});
