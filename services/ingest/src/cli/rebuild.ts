import { EventDeduplicator, LiveStateStore, formatComparison } from '@livetally/live-state';
import { EventHistory, migrate } from '@livetally/history';
import { safeUrl } from '@livetally/logging';
import { agrees, reconcile } from '../recovery/reconcile';
import { RebuildBusyError, RebuildLockLostError, rebuildLiveState } from '../recovery/rebuild';
import { redisBeforeClusterLayout } from '../clients';
import { rebuildMeasures, reconcileCampaigns } from '../recovery/wiring';
import { EXIT, connect, progressPrinter, runCommand } from './common';
import { parseFlags, parseRebuildConfig } from './config';

const USAGE = `usage: npm run rebuild [-- --json]

Restores all live state in Redis from ClickHouse, e.g. after Redis lost its data,
while ingest workers keep running: the campaign catalogue, every scope's totals
(campaign scopes included), applied offsets, resend fingerprints, minute buckets of
the last 3 h, unique-viewer and active-host HyperLogLogs, and the leaderboards of
\`all\` and every campaign. Workers pause during the rebuild and continue from the
restored offsets. Configured like the ingest workers (KAFKA_TOPIC, KAFKA_GROUP_ID,
REDIS_URL, REDIS_KEY_PREFIX, CLICKHOUSE_URL, CLICKHOUSE_DATABASE, INGEST_DEDUP_*),
plus REBUILD_GRACE_MS (35000), REBUILD_LOCK_TTL_MS (60000), REBUILD_VERIFY (true:
reconcile right after), REBUILD_UNIQUE_VIEWER_KINDS (all,city,district,category,
platform: dimension kinds whose unique-viewer HyperLogLogs are restored; add host,
stream at the cost of one id per view and scope, or none), REBUILD_FINGERPRINT_WINDOW_MS
(the dedup window: resend fingerprints of the rows stored this long before the newest
stored row are restored).
  --json   print the result as JSON on stdout (progress stays on stderr)
Exit codes: 0 rebuilt (and verified), 1 not done (another rebuild runs, lock lost,
verification differs), 2 bad usage or configuration, 3 could not run.
`;

runCommand('rebuild', USAGE, async () => {
  const flags = parseFlags(process.argv.slice(2), ['--json', '--help', '-h']);
  if (flags.has('--help') || flags.has('-h')) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const config = parseRebuildConfig(process.env);
  const progress = progressPrinter('rebuild');
  progress(
    `ClickHouse ${safeUrl(config.clickhouse.url)} ${config.clickhouse.database}.lt_events, topic ${config.topic} → Redis ${safeUrl(config.redis.url)} (prefix ${config.redis.keyPrefix})`,
  );
  const conn = await connect({ redis: config.redis, clickhouse: config.clickhouse });
  const abort = new AbortController();
  const onSignal = () => {
    progress('interrupted: stopping before the write and releasing the lock');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await migrate(conn.clickhouse); // a deployment that never stored anything has no table yet
    const live = new LiveStateStore(conn.redis, { prefix: config.redis.keyPrefix });
    const history = new EventHistory(conn.clickhouse);
    const dedup = new EventDeduplicator(conn.redis, { prefix: config.redis.keyPrefix, ...config.dedup });
    const started = performance.now();
    let result;
    try {
      result = await rebuildLiveState({
        live,
        history,
        dedup: {
          restore: (keys) => dedup.restore(keys),
          windowSeconds: config.dedup.windowSeconds,
          restoreWindowMs: config.fingerprintWindowMs,
        },
        measures: rebuildMeasures(redisBeforeClusterLayout(conn.redis), conn.clickhouse, {
          prefix: config.redis.keyPrefix,
          viewerKinds: config.viewerKinds,
        }),
        topic: config.topic,
        graceMs: config.graceMs,
        lockTtlMs: config.lockTtlMs,
        progress: (message) => progress(message),
        signal: abort.signal,
      });
    } catch (err) {
      if (err instanceof RebuildBusyError || err instanceof RebuildLockLostError) {
        process.stderr.write(`rebuild: ${err.message}\n`);
        return EXIT.differ;
      }
      throw err;
    }
    const seconds = (performance.now() - started) / 1000;

    let verified: boolean | null = null;
    let verification = null;
    if (config.verify) {
      progress('verifying: reconcile against ClickHouse (workers are running again)');
      verification = await reconcile({
        live,
        history,
        campaigns: reconcileCampaigns(conn.clickhouse, { prefix: config.redis.keyPrefix }),
        topic: config.topic,
        progress: (m) => progress(`  ${m}`),
      });
      verified = agrees(verification);
      if (!verified && verification.comparison) process.stderr.write(`${formatComparison(verification.comparison)}\n`);
    }

    if (flags.has('--json')) {
      process.stdout.write(`${JSON.stringify({ ...result, seconds, verified, verification }, null, 2)}\n`);
    } else {
      process.stdout.write(
        `REBUILT: ${result.scopes} scope(s), ${result.partitions} partition offset(s), ${result.fingerprints} resend fingerprint(s), ${result.removedScopes} stale scope(s) deleted in ${seconds.toFixed(1)} s` +
          (verified === null ? '' : verified ? '; reconcile agrees' : '; RECONCILE DIFFERS') +
          '\n' +
          (result.measures
            ? `  with ${result.campaigns} campaign(s) from the catalogue, ${result.measures.minuteBuckets} minute bucket(s), unique-viewer HyperLogLogs of ${result.measures.viewerScopes} scope(s) ` +
              `(${[...result.measures.viewerKinds, 'campaign'].join(', ')}), active hosts from ${result.measures.hostIds} host id(s), ${result.measures.rankEntries} leaderboard entries\n`
            : ''),
      );
    }
    return verified === false ? EXIT.differ : EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await conn.close();
  }
});
