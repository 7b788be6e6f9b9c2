import { LiveStateStore, formatComparison } from '@livetally/live-state';
import { EventHistory } from '@livetally/history';
import { safeUrl } from '@livetally/logging';
import { agrees, reconcile } from '../recovery/reconcile';
import { reconcileCampaigns } from '../recovery/wiring';
import { EXIT, connect, progressPrinter, runCommand } from './common';
import { parseFlags, parseReconcileConfig } from './config';

const USAGE = `usage: npm run reconcile [-- --json]

Compares every scope's totals in Redis with ClickHouse at the same applied offsets
(exact while ingest runs): all, city, district, category, platform, host, stream and
campaign scopes (each campaign as its catalogue defines it). Configured like the ingest workers: KAFKA_TOPIC,
KAFKA_GROUP_ID, REDIS_URL, REDIS_KEY_PREFIX, CLICKHOUSE_URL, CLICKHOUSE_DATABASE, …
  --json   print the full result as JSON on stdout (progress stays on stderr)
Exit codes: 0 all agree, 1 scopes differ (or Redis holds no live state), 2 bad usage
or configuration, 3 could not run (a store unreachable).
`;

runCommand('reconcile', USAGE, async () => {
  const flags = parseFlags(process.argv.slice(2), ['--json', '--help', '-h']);
  if (flags.has('--help') || flags.has('-h')) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const config = parseReconcileConfig(process.env);
  const progress = progressPrinter('reconcile');
  progress(
    `Redis ${safeUrl(config.redis.url)} (prefix ${config.redis.keyPrefix}) vs ClickHouse ${safeUrl(config.clickhouse.url)} ${config.clickhouse.database}.lt_events, topic ${config.topic}`,
  );
  const conn = await connect({ redis: config.redis, clickhouse: config.clickhouse });
  try {
    const result = await reconcile({
      live: new LiveStateStore(conn.redis, { prefix: config.redis.keyPrefix }),
      history: new EventHistory(conn.clickhouse),
      campaigns: reconcileCampaigns(conn.clickhouse, { prefix: config.redis.keyPrefix }),
      topic: config.topic,
      progress,
    });
    const ok = agrees(result);
    if (flags.has('--json')) {
      process.stdout.write(`${JSON.stringify({ agree: ok, ...result }, null, 2)}\n`);
    } else if (result.comparison === null) {
      process.stdout.write(
        result.status === 'rebuilding'
          ? 'NOT READY: a rebuild is running; run reconcile again when it finished\n'
          : 'NOT READY: Redis holds no live state (marker missing); run `npm run rebuild`\n',
      );
    } else {
      process.stdout.write(
        `compared kinds: ${result.kinds.join(', ')}${result.campaigns === null ? '' : ` (${result.campaigns} campaign(s) in the catalogue)`}\n${formatComparison(result.comparison)}\n`,
      );
      if (result.unregisteredPartitions.length > 0)
        process.stdout.write(
          `DIFFER: ClickHouse holds rows of partition(s) ${result.unregisteredPartitions.join(', ')}, which Redis has no applied offset for in its partition registry (their shares are in no sum): run \`npm run rebuild\`\n`,
        );
    }
    return ok ? EXIT.ok : EXIT.differ;
  } finally {
    await conn.close();
  }
});
