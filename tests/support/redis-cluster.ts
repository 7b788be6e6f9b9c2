import { execFile } from 'node:child_process';
import { Cluster, Redis } from 'ioredis';
import { freePort, waitFor } from './stack';
import { redisDaemon, tempDir, type DedicatedService } from './dedicated';

/**
 * A throwaway Redis Cluster for one test: three masters and three replicas on free ports
 * (client and cluster bus), each node with its own directory, created with `redis-cli
 * --cluster create … --cluster-replicas 1` as infra/stack.sh does with LT_REDIS=cluster.
 */
export interface DedicatedRedisCluster {
  /** Every node's host:port, comma-separated (what stack.env's REDIS_CLUSTER_NODES holds). */
  nodesList: string;
  /** Node `i + 1`'s process, to kill (a failover) and start again on its own port and directory. */
  nodes: DedicatedService[];
  /** A new cluster client (the caller disconnects it). */
  client(): Cluster;
  /** The running nodes that are masters now. */
  masters(): Promise<DedicatedService[]>;
  /** The node whose master serves `key`'s slot now. */
  masterOf(key: string): Promise<DedicatedService>;
  /**
   * Until every running node reports cluster_state:ok, three masters run, and every running
   * replica is linked to its master and has applied all of its writes: a master killed after
   * that loses nothing to its replica's promotion.
   */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Kills every node and deletes their directories. */
  remove(): Promise<void>;
}

const MASTERS = 3;

/**
 * `nodeTimeoutMs` is cluster-node-timeout: a master silent that long is failed over to its
 * replica (short here, so a failover test takes seconds; the stack uses 5 s).
 */
export async function startRedisCluster(options: { nodeTimeoutMs?: number } = {}): Promise<DedicatedRedisCluster> {
  const nodeTimeout = String(options.nodeTimeoutMs ?? 2_000);
  const specs: { port: number; busPort: number }[] = [];
  for (let i = 0; i < MASTERS * 2; i++) specs.push({ port: await freePort(), busPort: await freePort() });
  const nodes = specs.map((spec, i) =>
    redisDaemon({
      name: `redis-${i + 1}`,
      port: spec.port,
      dir: tempDir(`redis-cluster-${i + 1}`),
      persistent: true,
      args: [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-port',
        String(spec.busPort),
        '--cluster-node-timeout',
        nodeTimeout,
        '--maxmemory-policy',
        'noeviction',
        // A replica syncs at once rather than after the default 5 s wait for more replicas.
        '--repl-diskless-sync-delay',
        '0',
      ],
    }),
  );
  const nodesList = specs.map((s) => `127.0.0.1:${s.port}`).join(',');
  const cluster: DedicatedRedisCluster = {
    nodesList,
    nodes,
    client: () =>
      new Cluster(
        specs.map((s) => ({ host: '127.0.0.1', port: s.port })),
        { redisOptions: { maxRetriesPerRequest: 2 }, clusterRetryStrategy: (times) => Math.min(100 * times, 1_000) },
      ),
    masters: async () => {
      const roles = await Promise.all(nodes.map(async (n) => (n.running() ? await nodeRole(n) : 'down')));
      return nodes.filter((_, i) => roles[i] === 'master');
    },
    masterOf: async (key) => {
      const client = cluster.client();
      try {
        const slot = await client.cluster('KEYSLOT', key);
        const ranges = await client.cluster('SLOTS');
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        const node = nodes.find((n) => n.port === range?.[2]?.[1]);
        if (!node) throw new Error(`no master serves slot ${slot} of ${key}`);
        return node;
      } finally {
        client.disconnect();
      }
    },
    waitUntilOk: async (timeoutMs = 30_000) => {
      await waitFor(
        `Redis Cluster ${nodesList}: cluster_state:ok, ${MASTERS} masters, replicas in sync`,
        async () => {
          const states = await Promise.all(nodes.filter((n) => n.running()).map(nodeState));
          return clusterSettled(states) && states.filter((s) => s?.role === 'master').length === MASTERS;
        },
        timeoutMs,
        100,
      );
    },
    remove: async () => {
      await Promise.all(nodes.map((n) => n.remove()));
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await redisCli(['--cluster', 'create', ...nodesList.split(','), '--cluster-replicas', '1', '--cluster-yes']);
    await cluster.waitUntilOk();
  } catch (err) {
    await cluster.remove();
    throw err;
  }
  return cluster;
}

function redisCli(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile('redis-cli', args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) =>
      err ? rej(new Error(`redis-cli ${args.join(' ')} failed:\n${stdout}\n${stderr}`)) : res(stdout),
    );
  });
}

/** Commands on one node, on a connection of its own. */
export async function onNode<T>(node: DedicatedService, command: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    return await command(client);
  } finally {
    client.disconnect();
  }
}

async function nodeRole(node: DedicatedService): Promise<string> {
  return onNode(node, async (c) => ((await c.call('ROLE')) as [string])[0]).catch(() => 'down');
}

interface NodeState {
  port: number;
  clusterOk: boolean;
  role: string;
  /** A replica's master, and how far it has read that master's stream. */
  masterPort?: number;
  linkUp?: boolean;
  /** master_repl_offset of a master, slave_repl_offset of a replica. */
  offset: number;
}

async function nodeState(node: DedicatedService): Promise<NodeState | null> {
  return onNode(node, async (c) => {
    const clusterOk = /^cluster_state:ok\r?$/m.test(await c.cluster('INFO'));
    const replication = parseInfo(await c.info('replication'));
    const role = replication.get('role') ?? '?';
    if (role === 'master')
      return { port: node.port, clusterOk, role, offset: Number(replication.get('master_repl_offset')) };
    return {
      port: node.port,
      clusterOk,
      role,
      masterPort: Number(replication.get('master_port')),
      linkUp: replication.get('master_link_status') === 'up',
      offset: Number(replication.get('slave_repl_offset')),
    };
  }).catch(() => null);
}

/** cluster_state:ok everywhere, and every replica linked to its master and level with it. */
function clusterSettled(states: readonly (NodeState | null)[]): boolean {
  const masters = new Map(states.flatMap((s) => (s?.role === 'master' ? [[s.port, s.offset] as const] : [])));
  return states.every(
    (s) =>
      s !== null &&
      s.clusterOk &&
      (s.role === 'master' || (s.linkUp === true && masters.get(s.masterPort!) === s.offset)),
  );
}

function parseInfo(text: string): Map<string, string> {
  return new Map(
    text.split(/\r?\n/).flatMap((line) => {
      const at = line.indexOf(':');
      return at > 0 ? [[line.slice(0, at), line.slice(at + 1)] as const] : [];
    }),
  );
}
