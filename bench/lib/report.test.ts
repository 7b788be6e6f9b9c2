import { describe, expect, it } from 'vitest';
import { pipelineCpuVsBare } from './report';

describe('pipelineCpuVsBare', () => {
  const ceiling = {
    eventsPerSec: 100_000,
    // 78% of a core at 100k events/s: 7.8 µs an event; Kafka 14%: 1.4 µs.
    cpu: { perProcess: { consumer: 78, kafka: 14, redis: 0.5 }, machinePercent: 50, windowS: 3 },
  };

  it("sums the workers and the stores, leaves the producer and the gateway out, and divides by the consumer's and Kafka's", () => {
    const month = { producer: 16.9, worker1: 9.7, worker2: 10.7, redis: 7.7, clickhouse: 7.5, kafka: 1.6, gateway: 1 };
    const r = pipelineCpuVsBare(month, ceiling)!;
    expect(r.pipeline).toBeCloseTo(37.2, 6);
    expect(r.bare).toBeCloseTo(9.2, 6);
    expect(r.ratio).toBeCloseTo(37.2 / 9.2, 6);
  });

  it('gives nothing when the ceiling measured no CPU', () => {
    expect(
      pipelineCpuVsBare({ worker1: 10 }, { eventsPerSec: 100_000, cpu: { ...ceiling.cpu, perProcess: {} } }),
    ).toBeNull();
  });
});
