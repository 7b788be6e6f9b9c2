import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LiveSocketHooks } from './live/socket-route';
import type { HubObserver } from './live/types';

/**
 * The gateway's Prometheus metrics. It is the observer the hub, the WebSocket route
 * and the HTTP hooks report to; only this file knows about prom-client.
 */
export class GatewayMetrics implements HubObserver, LiveSocketHooks {
  readonly registry = new Registry();
  private readonly wsClients = new Gauge({
    name: 'livetally_gateway_ws_clients',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  });
  private readonly subscriptions = new Gauge({
    name: 'livetally_gateway_ws_subscriptions',
    help: 'Channel subscriptions over all connections',
    registers: [this.registry],
  });
  private readonly messagesSent = new Counter({
    name: 'livetally_gateway_ws_messages_sent_total',
    help: 'WebSocket frames sent, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  private readonly fanOutLatency = new Histogram({
    name: 'livetally_gateway_update_fanout_latency_seconds',
    help: 'From the first change notification of a channel to its update being sent',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  private readonly readErrors = new Counter({
    name: 'livetally_gateway_totals_read_errors_total',
    help: 'Failed reads of live totals',
    registers: [this.registry],
  });
  private readonly httpRequests = new Counter({
    name: 'livetally_gateway_http_requests_total',
    help: 'HTTP requests answered',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'livetally_gateway_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  private readonly sqlQueries = new Counter({
    name: 'livetally_gateway_sql_queries_total',
    help: 'POST /v1/sql queries by outcome (ok, refused, timeout, limit, error, unavailable)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly sqlDuration = new Histogram({
    name: 'livetally_gateway_sql_query_duration_seconds',
    help: 'POST /v1/sql query duration, refused ones included',
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly refused = new Counter({
    name: 'livetally_gateway_access_refused_total',
    help: 'Requests, upgrades and frames refused by access control or limits, by reason (missing, expired, bad_signature, forbidden, origin, connections, rate, abusive…)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly updatesDeferred = new Counter({
    name: 'livetally_gateway_ws_updates_deferred_total',
    help: 'Updates held back from a socket whose unsent bytes exceed WS_MAX_BUFFERED_BYTES (a slow screen); it gets the latest value once it drains',
    registers: [this.registry],
  });

  private isReady: () => boolean = () => false;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Node's default metrics keep their stock names, as stock dashboards expect.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const ready: Gauge = new Gauge({
      name: 'livetally_gateway_ready',
      help: '1 when the gateway can serve live totals (/readyz answers 200)',
      registers: [this.registry],
      collect: () => ready.set(this.isReady() ? 1 : 0),
    });
  }

  /** The readiness /readyz reports, read at each scrape. */
  watchReadiness(isReady: () => boolean): void {
    this.isReady = isReady;
  }

  onClientConnected(): void {
    this.wsClients.inc();
  }

  onClientDisconnected(): void {
    this.wsClients.dec();
  }

  onSubscriptions(total: number): void {
    this.subscriptions.set(total);
  }

  onFramesSent(type: string, count: number): void {
    this.messagesSent.inc({ type }, count);
  }

  onFanOut(latencyMs: number): void {
    this.fanOutLatency.observe(latencyMs / 1000);
  }

  onUpdatesDeferred(count: number): void {
    this.updatesDeferred.inc(count);
  }

  onReadError(): void {
    this.readErrors.inc();
  }

  /** `route` is the route pattern (never the raw URL, which would explode label cardinality). */
  onHttpRequest(method: string, route: string, status: number, durationMs: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, durationMs / 1000);
  }

  onSqlQuery(outcome: string, durationMs: number): void {
    this.sqlQueries.inc({ outcome });
    this.sqlDuration.observe(durationMs / 1000);
  }

  onRefused(reason: string): void {
    this.refused.inc({ reason });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
