import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics';

describe('GatewayMetrics', () => {
  it('reports readiness as read at each scrape', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    expect(await metrics.render()).toContain('livetally_gateway_ready 0'); // nothing watched yet
    let ready = true;
    metrics.watchReadiness(() => ready);
    expect(await metrics.render()).toContain('livetally_gateway_ready 1');
    ready = false;
    expect(await metrics.render()).toContain('livetally_gateway_ready 0');
  });

  it('counts updates held back from congested sockets', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.onUpdatesDeferred(3);
    metrics.onUpdatesDeferred(2);
    expect(await metrics.render()).toContain('livetally_gateway_ws_updates_deferred_total 5');
  });
});
