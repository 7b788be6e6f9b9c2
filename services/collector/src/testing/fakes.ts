import type { KafkaMessage } from '../batch';
import { SinkUnavailableError, type EventSink } from '../kafka-sink';

export const NOW = Date.UTC(2025, 7, 23, 12, 0, 0);
export const DOUYIN_KEY = 'dy-test-key-0123456789abcdef';
export const TAOBAO_KEY = 'tb-test-key-0123456789abcdef';

/** A valid sale event for douyin; override any field. */
export function saleEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    type: 'sale',
    eventId: 'e-1',
    platform: 'douyin',
    streamId: 's-1',
    hostId: 'h-1',
    ts: NOW - 1_000,
    city: 'Shenzhen',
    district: 'Futian',
    category: 'jewellery',
    orderId: 'o-1',
    sku: 'sku-1',
    quantity: 2,
    amountFen: 12_900,
    ...overrides,
  };
}

/** In-memory sink: records what it was sent; can be told to fail or to hold sends until released. */
export class MemorySink implements EventSink {
  readonly sent: KafkaMessage[][] = [];
  ready = true;
  failWith: SinkUnavailableError | Error | undefined;
  private held: (() => void)[] = [];
  hold = false;

  async send(messages: readonly KafkaMessage[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    this.sent.push([...messages]);
  }

  isReady(): boolean {
    return this.ready;
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }

  get events(): Record<string, unknown>[] {
    return this.sent.flat().map((m) => JSON.parse(m.value.toString('utf8')) as Record<string, unknown>);
  }
}
