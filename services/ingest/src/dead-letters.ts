import { describeErrors } from '@livetally/events';
import type { Producer } from 'kafkajs';
import type { DeadLetter } from './outcomes';

/** Header names a DLQ consumer can rely on. */
export const DLQ_HEADERS = {
  reason: 'lt-reason',
  errors: 'lt-errors',
  step: 'lt-step',
  topic: 'lt-topic',
  partition: 'lt-partition',
  offset: 'lt-offset',
  failedAt: 'lt-failed-at',
} as const;

/**
 * The one stage that writes to the dead-letter topic. The original bytes travel
 * unchanged as the value; why and where they failed travel as headers.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly now: () => number = Date.now,
  ) {}

  async publish(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const failedAt = new Date(this.now()).toISOString();
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((l) => ({
        key: l.key,
        value: l.value,
        headers: {
          [DLQ_HEADERS.reason]: l.errors[0]?.reason ?? 'unknown',
          [DLQ_HEADERS.errors]: JSON.stringify(l.errors),
          [DLQ_HEADERS.step]: l.step,
          [DLQ_HEADERS.topic]: l.topic,
          [DLQ_HEADERS.partition]: String(l.partition),
          [DLQ_HEADERS.offset]: l.offset,
          [DLQ_HEADERS.failedAt]: failedAt,
        },
      })),
    });
  }
}

export function summarize(letters: readonly DeadLetter[]): string {
  return letters.map((l) => `${l.partition}@${l.offset}: ${describeErrors(l.errors)}`).join(' | ');
}
