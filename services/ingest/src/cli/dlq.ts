import { createHistoryClient } from '@livetally/history';
import { createKafka } from '@livetally/kafka';
import { createLogger } from '@livetally/logging';
import { positionId, type Letter } from '../dlq/letter';
import { scanLetters, type LetterScan } from '../dlq/letter-reader';
import { formatList, formatReplay, listJson, replayJson } from '../dlq/format';
import { ReplayLedger } from '../dlq/replay-ledger';
import { originalId } from '../dlq/replay-plan';
import { replayLetters } from '../dlq/replayer';
import { storedEvents } from '../dlq/stored-events';
import { EXIT, progressPrinter, runCommand } from './common';
import { parseDlqConfig } from './config';
import { DEFAULT_LIST_LIMIT, DEFAULT_REPLAY_LIMIT, DEFAULT_TIMEOUT_MS, parseDlqArgs } from './dlq-args';

const USAGE = `usage: livetally dlq list   [filters] [--json | --raw]
       livetally dlq replay [filters] [--yes] [--json]

Reads the dead-letter topic (KAFKA_DLQ_TOPIC, default livetally.events.dlq) where the
ingest workers put every invalid event with why it failed.

  list     letters per reason, then each letter (earliest failed first): where it is,
           when and why it failed, where its original was on KAFKA_TOPIC, and a preview
           of the original bytes; REPLAYED names the copy a replay sent.
           --json  everything as one JSON document, every value whole (base64, and as
                   text when UTF-8)
           --raw   only the selected originals' bytes, each followed by a newline
  replay   sends the selected originals back into KAFKA_TOPIC once their cause is fixed
           (e.g. a producer clock that stamped them in the past: they are judged again
           against the copy's new timestamp). A DRY RUN unless --yes. Byte for byte,
           with the original key, to the original partition. Each original is replayed
           once ever: a compacted ledger topic (KAFKA_DLQ_REPLAY_LEDGER_TOPIC, default
           <KAFKA_DLQ_TOPIC>.replayed) records every copy, so running the same replay
           again sends nothing; the copy keeps the eventId, so the workers' resend
           deduplication also drops a second copy within INGEST_DEDUP_WINDOW_SECONDS.
           An original whose event ClickHouse already stores (the platform's own
           resend was counted) is skipped: past that window it would count twice.
           Letters that hold only part of their original (truncated: over 16 KiB;
           omitted: parked) cannot be replayed and are reported as refused.

Filters (all must hold):
  --reason R[,R…]     the letter's reason (lt-reason), e.g. out_of_range, not_json; repeatable
  --since T           failed at or after T; --until T: failed before T. T is a duration
                      ago (90s, 15m, 2h, 7d), a date (2024-08-23, UTC) or an ISO time
                      with its zone (2024-08-23T10:00:00+08:00)
  --offsets P:O[-O2][,…]  letters at these offsets of the dead-letter topic
  --limit N           act on the N earliest matching letters (list ${DEFAULT_LIST_LIMIT}, replay ${DEFAULT_REPLAY_LIMIT})
  --timeout D         bound of each read of a topic (default ${DEFAULT_TIMEOUT_MS / 1000}s)

Configured like the ingest workers: KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_DLQ_TOPIC, and for
replay CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE.
Exit codes: 0 done; 1 list: the topic was not read to its end in time; replay: some
selected letters were refused (or the read was incomplete); 2 bad usage or
configuration; 3 could not run (Kafka unreachable, a topic missing).
`;

runCommand('livetally dlq', USAGE, async () => {
  const command = parseDlqArgs(process.argv.slice(2), Date.now());
  if (command.action === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const config = parseDlqConfig(process.env);
  const progress = progressPrinter('dlq');
  // Progress and Kafka's warnings go to stderr: stdout is the result.
  const logger = createLogger({ service: 'dlq', level: config.logLevel, destination: process.stderr });
  const kafka = createKafka({ clientId: 'livetally-dlq', brokers: config.brokers, logger });
  const ledger = new ReplayLedger(kafka, config.ledgerTopic);
  progress(`reading ${config.dlqTopic} on ${config.brokers.join(',')}`);
  const scan = await scanLetters(kafka, config.dlqTopic, command.selection, command.timeoutMs);
  const complete = scan.unfinished.length === 0;
  if (!complete) progress(`${config.dlqTopic} was not read to its end within --timeout: the result is partial`);

  if (command.action === 'list') {
    const recorded = await ledger.read(command.timeoutMs);
    if (command.output === 'raw') {
      for (const l of scan.letters) process.stdout.write(Buffer.concat([l.bytes, Buffer.from('\n')]));
      progress(describeScan(scan));
    } else if (command.output === 'json') {
      process.stdout.write(`${JSON.stringify(listJson(scan, recorded, originalId), null, 2)}\n`);
    } else {
      process.stdout.write(formatList(scan, recorded, originalId));
    }
    return complete ? EXIT.ok : EXIT.differ;
  }

  progress(describeScan(scan));
  const clickhouse = createHistoryClient(config.clickhouse);
  const report = await replayLetters(scan.letters, {
    kafka,
    eventsTopic: config.topic,
    ledger,
    apply: command.apply,
    timeoutMs: command.timeoutMs,
    storedEvents: (keys) => storedEvents(clickhouse, config.topic, keys),
    progress,
  }).finally(() => clickhouse.close());
  process.stdout.write(command.json ? `${JSON.stringify(replayJson(report), null, 2)}\n` : formatReplay(report));
  if (scan.letters.length < scan.matched)
    progress(`--limit kept ${scan.letters.length} of ${scan.matched} matching letters: run again for the rest`);
  return report.refused.length === 0 && complete ? EXIT.ok : EXIT.differ;
});

function describeScan(scan: LetterScan): string {
  const kept = (l: Letter[]) => (l.length < scan.matched ? `, the ${l.length} earliest kept` : '');
  return `${scan.matched} letter(s) selected of ${scan.scanned} read${kept(scan.letters)}${scan.letters[0] ? ` (first ${positionId(scan.letters[0].at)})` : ''}`;
}
