/**
 * Which stack the integration tests run against, decided once before any test file
 * (tests/support/global-setup.ts):
 * - `given`: the caller named the services (KAFKA_BROKERS, REDIS_URL or CLICKHOUSE_URL;
 *   `npm test` does, from infra/stack.sh's stack.env): use them as they are.
 * - `containers`: nothing named and a Docker engine answers: Kafka, Redis and a real
 *   ClickHouse server from their official images, started with testcontainers.
 * - `native`: nothing named and no Docker engine: the native stack of infra/stack.sh
 *   (Kafka from its jars, Debian's redis-server, the chDB stand-in).
 */
export type StackPlan =
  { kind: 'given'; reason: string } | { kind: 'containers'; reason: string } | { kind: 'native'; reason: string };

export const SERVICE_VARIABLES = ['KAFKA_BROKERS', 'REDIS_URL', 'CLICKHOUSE_URL'] as const;

export function planStack(env: Readonly<Record<string, string | undefined>>, dockerAnswers: boolean): StackPlan {
  const named = SERVICE_VARIABLES.filter((v) => env[v]);
  if (named.length > 0) return { kind: 'given', reason: `using the services named by ${named.join(', ')}` };
  if (env.LT_TESTCONTAINERS === 'off')
    return { kind: 'native', reason: 'LT_TESTCONTAINERS=off: using the native stack (infra/stack.sh)' };
  if (dockerAnswers)
    return {
      kind: 'containers',
      reason: 'a Docker engine answers: starting Kafka, Redis and ClickHouse with testcontainers',
    };
  return {
    kind: 'native',
    reason:
      'no Docker engine answers (testcontainers cannot start containers): using the native stack (infra/stack.sh)',
  };
}

/** The variables of a `source`-able env file (`export NAME=value` or `NAME=value` lines). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const value = m[2]!.trim();
    env[m[1]!] = /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return env;
}

/**
 * Kafka's KRaft settings for a single-node broker in a container whose client port is
 * published on `hostPort` of the loopback interface: clients outside get
 * 127.0.0.1:<hostPort> as the broker's address, as with the native stack.
 */
export function kafkaContainerEnv(hostPort: number): Record<string, string> {
  return {
    CLUSTER_ID: 'mnetGgjEQIiTiYQbhFrTIg',
    KAFKA_NODE_ID: '1',
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
    KAFKA_LISTENERS: 'HOST://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093',
    KAFKA_ADVERTISED_LISTENERS: `HOST://127.0.0.1:${hostPort}`,
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'HOST:PLAINTEXT,CONTROLLER:PLAINTEXT',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'HOST',
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    KAFKA_HEAP_OPTS: '-Xms256m -Xmx768m',
  };
}
