import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { kafkaContainerEnv } from './stack-plan';
import { freePort } from './stack';

/**
 * The integration tests' stack from the official images, started with testcontainers
 * when a Docker engine answers (tests/support/global-setup.ts). The same images and
 * ClickHouse users as docker-compose.yml, so the suite runs against a real ClickHouse
 * server instead of the chDB stand-in. Not run on the project's CI machines, which have
 * no Docker engine (docs/testing.md).
 */
export const IMAGES = {
  kafka: 'apache/kafka:3.9.1',
  redis: 'redis:7',
  clickhouse: 'clickhouse/clickhouse-server:24.8',
} as const;

const ROOT = join(import.meta.dirname, '..', '..');

export interface ContainerStack {
  /** The variables the tests and the services they start read (as infra/stack.sh's stack.env). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** True when testcontainers finds a container runtime that answers within `timeoutMs`. */
export async function dockerAnswers(timeoutMs = 10_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const probe = getContainerRuntimeClient().then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startContainerStack(log: (message: string) => void): Promise<ContainerStack> {
  const started: StartedTestContainer[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((c) => c.stop()));
  };
  // Each container is kept as soon as it runs, so a failure of another still stops it.
  const track = (container: GenericContainer) =>
    container.start().then((c) => {
      started.push(c);
      return c;
    });
  try {
    const kafkaPort = await freePort();
    const password = randomBytes(18).toString('hex');
    const readerPassword = randomBytes(18).toString('hex');
    log(`starting ${IMAGES.kafka}, ${IMAGES.redis} and ${IMAGES.clickhouse}…`);
    const [, redis, clickhouse] = await Promise.all([
      track(
        new GenericContainer(IMAGES.kafka)
          .withEnvironment(kafkaContainerEnv(kafkaPort))
          // Fixed host port: the broker must advertise the address clients reach it at.
          .withExposedPorts({ container: 9092, host: kafkaPort })
          .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
          .withStartupTimeout(120_000),
      ),
      track(
        new GenericContainer(IMAGES.redis)
          .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'])
          .withExposedPorts(6379)
          .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/)),
      ),
      track(
        new GenericContainer(IMAGES.clickhouse)
          .withEnvironment({
            CLICKHOUSE_SKIP_USER_SETUP: '1',
            CLICKHOUSE_PASSWORD: password,
            CLICKHOUSE_SQL_PASSWORD: readerPassword,
          })
          .withCopyDirectoriesToContainer([
            { source: join(ROOT, 'infra/clickhouse/users.d'), target: '/etc/clickhouse-server/users.d' },
            { source: join(ROOT, 'infra/clickhouse/config.d'), target: '/etc/clickhouse-server/config.d' },
          ])
          .withExposedPorts(8123)
          .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
          .withStartupTimeout(120_000),
      ),
    ]);
    const env = {
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      REDIS_URL: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
      CLICKHOUSE_URL: `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`,
      CLICKHOUSE_USER: 'livetally',
      CLICKHOUSE_PASSWORD: password,
      CLICKHOUSE_SQL_USER: 'livetally_reader',
      CLICKHOUSE_SQL_PASSWORD: readerPassword,
    };
    log(`containers up: Kafka ${env.KAFKA_BROKERS}, Redis ${env.REDIS_URL}, ClickHouse ${env.CLICKHOUSE_URL}`);
    return { env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
