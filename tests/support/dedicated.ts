import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, waitFor, within, type ClickHouseAccount } from './stack';

/**
 * Service instances owned by one test: their own process, port and temporary data
 * directory, so a test can stop and restart them without touching the shared stack.
 * Each can be stopped (SIGTERM by default) and started again on the same port and
 * directory, as a real restart would. `remove()` kills it and deletes the directory.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const KAFKA_DIR = join(ROOT, 'infra', 'kafka');

export interface DedicatedService {
  name: string;
  /** Where clients connect: redis://…, http://… or host:port. */
  url: string;
  port: number;
  dir: string;
  /** The account a client signs in with, for services that require one (the chDB server). */
  credentials?: ClickHouseAccount;
  running(): boolean;
  start(): Promise<void>;
  /** Sends the signal and waits for the exit (SIGKILL after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** Sends a signal without waiting (SIGSTOP / SIGCONT: a stalled server). */
  signal(signal: NodeJS.Signals): void;
  /** The service's output so far (all starts), for failure messages. */
  log(): string;
  /** Stops it (SIGKILL) and deletes its directory; safe to call twice or after a failed start. */
  remove(): Promise<void>;
}

// Safety net: a test that dies without its afterAll still kills its children.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function daemon(options: {
  name: string;
  url: string;
  port: number;
  dir: string;
  credentials?: ClickHouseAccount;
  command: () => { cmd: string; args: string[]; env?: Record<string, string> };
  ready: () => Promise<boolean>;
  startTimeoutMs: number;
}): DedicatedService {
  const logFile = join(options.dir, `${options.name}.out`);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const service: DedicatedService = {
    name: options.name,
    url: options.url,
    port: options.port,
    dir: options.dir,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    running,
    async start() {
      if (running()) throw new Error(`${options.name} is already running`);
      const { cmd, args, env } = options.command();
      const out = openSync(logFile, 'a');
      const proc = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
      closeSync(out);
      child = proc;
      live.add(proc);
      exited = new Promise((res) => proc.once('exit', () => res()));
      void exited.then(() => live.delete(proc));
      await waitFor(
        `${options.name} on port ${options.port}`,
        async () => {
          if (proc.exitCode !== null || proc.signalCode !== null)
            throw new Error(
              `${options.name} exited (${proc.exitCode ?? proc.signalCode}):\n${service.log().slice(-3000)}`,
            );
          return options.ready();
        },
        options.startTimeoutMs,
        100,
      ).catch(async (err: Error) => {
        await service.stop('SIGKILL');
        throw new Error(`${err.message}\n${service.log().slice(-3000)}`);
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (!running()) return;
      // A stopped (SIGSTOP) process takes no signal but SIGKILL until it continues.
      child!.kill('SIGCONT');
      child!.kill(signal);
      const timer = setTimeout(() => child?.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    signal(signal) {
      if (running()) child!.kill(signal);
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async remove() {
      await service.stop('SIGKILL');
      rmSync(options.dir, { recursive: true, force: true });
    },
  };
  return service;
}

export const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `lt-${name}-`));

/** How long a test's teardown gives each client or run to close before it moves on. */
const CLOSE_BOUND_MS = 40_000;

/**
 * A fault test's afterAll: closes its clients and runs, one after the other, each given at
 * most CLOSE_BOUND_MS, then removes its dedicated services. After a failure a close can wait
 * on a store that is gone (kafkajs retrying a dead broker); unbounded, it ran past the hook's
 * timeout and the servers outlived the run.
 */
export async function tearDown(
  closers: readonly (readonly [what: string, close: () => Promise<unknown> | undefined])[],
  services: readonly ({ remove(): Promise<void> } | undefined)[],
): Promise<void> {
  for (const [what, close] of closers) {
    await within(CLOSE_BOUND_MS, `closing ${what}`, Promise.resolve(close())).catch((err: Error) =>
      process.stderr.write(`[teardown] ${err.message}; removing the services anyway\n`),
    );
  }
  await Promise.all(services.map((service) => service?.remove()));
}

/** Sends a RESP PING; true on +PONG (false while Redis still loads its AOF). */
function redisPong(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      res(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (b) => done(b.toString().startsWith('+PONG')));
  });
}

/**
 * A redis-server on a free port. `persistent` turns on the append-only file, so a
 * stop (SIGTERM) and start keeps the data as a real Redis restart does. `args` are
 * further redis-server settings (e.g. --maxmemory-policy allkeys-lru).
 */
export async function startRedis(options: { persistent?: boolean; args?: string[] } = {}): Promise<DedicatedService> {
  const redis = redisDaemon({ name: 'redis', port: await freePort(), dir: tempDir('redis'), ...options });
  await start(redis);
  return redis;
}

/** A redis-server on `port` and `dir`, not started yet (startRedis, and each node of startRedisCluster). */
export function redisDaemon(options: {
  name: string;
  port: number;
  dir: string;
  persistent?: boolean;
  args?: string[];
}): DedicatedService {
  const { port, dir } = options;
  return daemon({
    name: options.name,
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    command: () => ({
      cmd: 'redis-server',
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        options.persistent ? 'yes' : 'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        ...(options.args ?? []),
      ],
    }),
    ready: () => redisPong(port),
    startTimeoutMs: 20_000,
  });
}

/**
 * Writes a Redis started by startRedis() (RDB, no AOF) to its dump.rdb now (SAVE): the
 * snapshot a later restartRedisFromSnapshot() comes back with.
 */
export async function saveRedisSnapshot(redis: DedicatedService): Promise<void> {
  await redisCommand(redis, (client) => client.save());
}

/**
 * Stops Redis without saving (SHUTDOWN NOSAVE) and starts it again on the same port and
 * directory: it loads the last snapshot, so everything written since is gone, as after
 * a restart from an older backup.
 */
export async function restartRedisFromSnapshot(redis: DedicatedService): Promise<void> {
  await redisCommand(redis, (client) => client.shutdown('NOSAVE')).catch(() => undefined); // the connection closes with the server
  await waitFor('Redis to exit after SHUTDOWN NOSAVE', async () => !redis.running(), 10_000, 50);
  await redis.start();
}

async function redisCommand<T>(redis: DedicatedService, command: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(redis.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    return await command(client);
  } finally {
    client.disconnect();
  }
}

/** The chDB server (ClickHouse's HTTP interface) as a child process on its own data directory, with an account of its own. */
export async function startChdb(): Promise<DedicatedService & { credentials: ClickHouseAccount }> {
  const port = await freePort();
  const dir = tempDir('chdb');
  const url = `http://127.0.0.1:${port}`;
  const credentials = { username: 'lt_test', password: randomBytes(18).toString('base64url') };
  const chdb = daemon({
    name: 'chdb',
    url,
    port,
    dir,
    credentials,
    command: () => ({
      cmd: process.execPath,
      args: ['--import', 'tsx', 'packages/chdb-server/src/main.ts'],
      env: {
        CHDB_DATA_DIR: join(dir, 'data'),
        CHDB_HTTP_PORT: String(port),
        CHDB_HTTP_HOST: '127.0.0.1',
        CHDB_LOG_LEVEL: 'warn',
        CHDB_USER: credentials.username,
        CHDB_PASSWORD: credentials.password,
      },
    }),
    ready: async () =>
      (await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) }).catch(() => null))?.ok ?? false,
    startTimeoutMs: 60_000,
  });
  await start(chdb);
  return { ...chdb, credentials };
}

export interface DedicatedKafkaCluster {
  /** Every broker's host:port, comma-separated, as KAFKA_BROKERS takes them. */
  url: string;
  /** Node `i + 1`'s process (broker and KRaft controller), to kill and start again on its own port and directory. */
  nodes: DedicatedService[];
  /** Kills every node and deletes their directories. */
  remove(): Promise<void>;
}

/**
 * A single-node KRaft Kafka broker (the jars and config template infra/stack.sh uses)
 * on free ports and a freshly formatted log directory. Run `bash infra/stack.sh up`
 * once if infra/kafka/libs is missing.
 */
export async function startKafka(): Promise<DedicatedService> {
  return (await startKafkaCluster(1)).nodes[0]!;
}

/**
 * `size` KRaft nodes (each broker and controller, as infra/stack.sh runs them with
 * LT_KAFKA_BROKERS=3) on free ports, each with its own freshly formatted directory. With
 * more than one node, infra/kafka/cluster.properties applies: replication factor 3,
 * min.insync.replicas 2 and a dead broker noticed within seconds. Nodes start together
 * (the controllers need a quorum) and each is ready once it serves metadata that lists
 * itself as a live broker.
 */
export async function startKafkaCluster(size: number): Promise<DedicatedKafkaCluster> {
  if (!existsSync(join(KAFKA_DIR, 'libs', 'kafka_2.13-3.9.1.jar')))
    throw new Error('infra/kafka/libs has no Kafka jars: run `bash infra/stack.sh up` once');
  const specs = [];
  for (let id = 1; id <= size; id++) specs.push({ id, port: await freePort(), controllerPort: await freePort() });
  const voters = specs.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  // An id starting with '-' is read as an option by kafka-storage (Kafka's own Uuid avoids them too).
  let clusterId: string;
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  const url = specs.map((n) => `127.0.0.1:${n.port}`).join(',');
  const nodes = await Promise.all(
    specs.map(async (spec) => {
      const dir = tempDir(`kafka-${spec.id}`);
      const props = join(dir, 'server.properties');
      writeFileSync(props, kafkaProperties({ ...spec, voters, logDirs: join(dir, 'data'), cluster: size > 1 }));
      await formatKafkaStorage(clusterId, props).catch((err: Error) => {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      });
      const own = `127.0.0.1:${spec.port}`;
      return daemon({
        name: size > 1 ? `kafka-${spec.id}` : 'kafka',
        url: own,
        port: spec.port,
        dir,
        command: () => ({
          cmd: 'java',
          args: [
            '-Xms128m',
            '-Xmx512m',
            '-XX:+UseG1GC',
            '-Djava.awt.headless=true',
            ...KAFKA_JAVA,
            'kafka.Kafka',
            props,
          ],
        }),
        ready: () => brokerAnswers(own, spec.id),
        startTimeoutMs: 90_000,
      });
    }),
  );
  const remove = async () => {
    await Promise.all(nodes.map((n) => n.remove()));
  };
  const started = await Promise.allSettled(nodes.map((n) => n.start()));
  const failed = started.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
  if (failed.length > 0) {
    await remove();
    throw new Error(failed.map((e) => e.message).join('\n'));
  }
  return { url, nodes, remove };
}

const KAFKA_JAVA = [
  '-Dlog4j.configuration=file:' + join(KAFKA_DIR, 'log4j.properties'),
  '-cp',
  `${join(KAFKA_DIR, 'libs')}/*`,
];

/** infra/kafka/server.properties.template filled in for one node (and cluster.properties after it for several). */
function kafkaProperties(node: {
  id: number;
  port: number;
  controllerPort: number;
  voters: string;
  logDirs: string;
  cluster: boolean;
}): string {
  const single = readFileSync(join(KAFKA_DIR, 'server.properties.template'), 'utf8')
    .replaceAll('@NODE_ID@', String(node.id))
    .replaceAll('@KAFKA_PORT@', String(node.port))
    .replaceAll('@CONTROLLER_PORT@', String(node.controllerPort))
    .replaceAll('@VOTERS@', node.voters)
    .replaceAll('@LOG_DIRS@', node.logDirs);
  return node.cluster ? `${single}\n${readFileSync(join(KAFKA_DIR, 'cluster.properties'), 'utf8')}` : single;
}

function formatKafkaStorage(clusterId: string, props: string): Promise<void> {
  return new Promise((res, rej) => {
    execFile(
      'java',
      ['-Xmx256m', ...KAFKA_JAVA, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) =>
        err ? rej(new Error(`formatting the Kafka log directory failed:\n${stdout}\n${stderr}`)) : res(),
    );
  });
}

/** The broker serves metadata that lists itself as a live broker (it has registered and is not fenced). */
async function brokerAnswers(broker: string, nodeId: number): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'lt-dedicated-probe',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1_000,
  }).admin();
  try {
    await admin.connect();
    const { brokers: live } = await admin.describeCluster();
    return live.some((b) => b.nodeId === nodeId);
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function start(service: DedicatedService): Promise<void> {
  try {
    await service.start();
  } catch (err) {
    await service.remove();
    throw err;
  }
}
