import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProduceOutcome, SinkObserver } from './kafka-sink';

/**
 * The collector's Prometheus metrics; only this file knows about prom-client. The
 * platform label is bounded by the configured API keys (it is only ever set for an
 * authenticated platform).
 */
export class CollectorMetrics implements SinkObserver {
  readonly registry = new Registry();
  private readonly events = new Counter({
    name: 'livetally_collector_events_total',
    help: 'Events answered, by platform and result (accepted, duplicate_in_batch, rejected)',
    labelNames: ['platform', 'result'] as const,
    registers: [this.registry],
  });
  private readonly rejections = new Counter({
    name: 'livetally_collector_event_rejections_total',
    help: 'Rejected events by platform and first reason',
    labelNames: ['platform', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly refusedRequests = new Counter({
    name: 'livetally_collector_refused_requests_total',
    help: 'Authenticated requests refused whole, by platform and error code (FORBIDDEN_PLATFORM, RATE_LIMITED, TOO_LARGE_FOR_KAFKA, KAFKA_UNAVAILABLE…)',
    labelNames: ['platform', 'code'] as const,
    registers: [this.registry],
  });
  private readonly httpRequests = new Counter({
    name: 'livetally_collector_http_requests_total',
    help: 'HTTP requests answered',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'livetally_collector_http_request_duration_seconds',
    help: 'HTTP request duration, body parsing and the Kafka acknowledgement included',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly produceDuration = new Histogram({
    name: 'livetally_collector_kafka_produce_duration_seconds',
    help: 'From handing a batch to the producer to Kafka acknowledging it (acks=all), by outcome (ok, error, timeout, too_large)',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly pendingEvents = new Gauge({
    name: 'livetally_collector_kafka_pending_events',
    help: 'Events handed to the producer and not yet settled',
    registers: [this.registry],
  });
  private readonly ready = new Gauge({
    name: 'livetally_collector_ready',
    help: '1 when the collector can store events',
    registers: [this.registry],
  });
  private readiness: () => boolean = () => false;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Node's default metrics keep their stock names, as stock dashboards expect.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The readiness gauge is read at scrape time. */
  trackReadiness(isReady: () => boolean): void {
    this.readiness = isReady;
  }

  onEvents(
    platform: string,
    counts: { accepted: number; duplicates: number; rejected: number },
    reasons: ReadonlyMap<string, number>,
  ): void {
    if (counts.accepted > 0) this.events.inc({ platform, result: 'accepted' }, counts.accepted);
    if (counts.duplicates > 0) this.events.inc({ platform, result: 'duplicate_in_batch' }, counts.duplicates);
    if (counts.rejected > 0) this.events.inc({ platform, result: 'rejected' }, counts.rejected);
    for (const [reason, n] of reasons) this.rejections.inc({ platform, reason }, n);
  }

  onRefused(platform: string, code: string): void {
    this.refusedRequests.inc({ platform, code });
  }

  /** `route` is the route pattern (never the raw URL, which would explode label cardinality). */
  onHttpRequest(method: string, route: string, status: number, durationMs: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, durationMs / 1000);
  }

  onProduce(seconds: number, outcome: ProduceOutcome): void {
    this.produceDuration.observe({ outcome }, seconds);
  }

  onPending(events: number): void {
    this.pendingEvents.set(events);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    this.ready.set(this.readiness() ? 1 : 0);
    return this.registry.metrics();
  }
}
