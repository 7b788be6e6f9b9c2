import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { BenchOptions } from './options';

/** The pre-produced topic the throughput scenarios (ceiling, ingest, naive) read. */
export interface Fixture {
  topic: string;
  /** Dead-letter topic ingest workers are pointed at (nothing is dead-lettered: the data set is clean). */
  dlqTopic: string;
  partitions: number;
  events: number;
  meanEncodedBytes: number;
  /** Per-scope totals of `all`, to check an ingest run counted everything. */
  expectedViews: number;
  expectedOrders: number;
}

export interface BenchContext {
  opts: BenchOptions;
  kafka: Kafka;
  redis: Redis;
  /** Client on the default database (CREATE/DROP DATABASE, version()). */
  ch: ClickHouseClient;
  /** The shared fixture, produced on first use and deleted when the run ends. */
  fixture(): Promise<Fixture>;
  /** Figures of scenarios that already ran, for scenarios that scale from them (latency from ingest). */
  results: Record<string, unknown>;
  /**
   * Registers a clean-up step that runs when the bench ends (also on Ctrl-C and on
   * failure); returns a function that runs it now instead. Either way it runs once, and
   * the bench does not exit while it is under way (bench/lib/cleanups.ts).
   */
  onCleanup(step: () => Promise<unknown>): () => Promise<void>;
  log(message: string): void;
}

export interface Scenario<R = unknown> {
  name: string;
  title: string;
  run(ctx: BenchContext, log: (message: string) => void): Promise<R>;
}
