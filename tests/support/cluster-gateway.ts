import type { FaultRun } from './fault-run';
import { startService, type ServiceProcess } from './processes';
import type { DedicatedRedisCluster } from './redis-cluster';
import { clickhouseEnv, freePort, waitFor } from './stack';

export interface GatewayProcess {
  process: ServiceProcess;
  url: string;
}

/**
 * A real gateway process on a fault run's Redis Cluster and key prefix, with the shared
 * ClickHouse (campaign definitions need it); `onCleanup` gets its stop, registered before
 * the wait so a gateway that never gets ready is stopped too.
 */
export async function startClusterGateway(
  cluster: Pick<DedicatedRedisCluster, 'nodesList'>,
  run: Pick<FaultRun, 'run'>,
  onCleanup: (cleanup: () => Promise<unknown>) => void,
): Promise<GatewayProcess> {
  const port = await freePort();
  const proc = startService('gateway', {
    ...clickhouseEnv(),
    CLICKHOUSE_DATABASE: run.run,
    GATEWAY_AUTH: 'off',
    GATEWAY_PORT: String(port),
    GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000',
    REDIS_URL: `redis://${cluster.nodesList.split(',')[0]}`,
    REDIS_CLUSTER_NODES: cluster.nodesList,
    REDIS_KEY_PREFIX: run.run,
    LOG_LEVEL: 'info',
  });
  onCleanup(() => proc.stop());
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the gateway ready on the cluster', async () => (await fetch(`${url}/readyz`)).ok, 60_000).catch(
    (err: Error) => {
      throw new Error(`${err.message}\n${proc.output()}`);
    },
  );
  return { process: proc, url };
}
