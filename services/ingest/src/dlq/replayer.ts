import type { Admin, Kafka, Producer } from 'kafkajs';
import { splitBySize } from '../dead-letter-records';
import { positionId, type Letter, type Position } from './letter';
import { REPLAY_HEADERS, type LedgerEntry, type ReplayLedger } from './replay-ledger';
import { originalId, planReplay, type Verdict } from './replay-plan';
import { eventKeyOf, sameEvent, type EventKey } from './stored-events';
import { readRanges } from './topic-reader';

export interface ReplayOptions {
  kafka: Kafka;
  /** KAFKA_TOPIC: the workers' topic, where originals go back to. */
  eventsTopic: string;
  ledger: ReplayLedger;
  /** False: a dry run, nothing is written anywhere. */
  apply: boolean;
  /** Bound of each read (ledger, events topic). */
  timeoutMs: number;
  /** Where the history already stores these events (stored-events.ts): those are counted, not replayed. */
  storedEvents: (keys: readonly EventKey[]) => Promise<Map<string, Position>>;
  progress: (message: string) => void;
  now?: () => number;
}

export interface ReplayReport {
  applied: boolean;
  /** Sent by this run (a dry run: would be sent; `copy` null). */
  replayed: { letter: Letter; copy: Position | null }[];
  /** Sent by a replay that crashed before recording it: found on the events topic, recorded now, not sent again. */
  recovered: { letter: Letter; copy: Position }[];
  alreadyReplayed: { letter: Letter; entry: LedgerEntry }[];
  sameOriginal: { letter: Letter; as: string }[];
  /** Its event is already stored (a platform's own resend was counted): replaying it could count it twice. */
  counted: { letter: Letter; stored: Position }[];
  refused: { letter: Letter; why: string }[];
}

// Below Kafka's default max.message.bytes (1 MiB) of the events topic, like the workers' dead-letter requests.
const MAX_REQUEST_BYTES = 512 * 1024;

interface Outgoing {
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
  letter: Letter;
}

/**
 * Replays letters into the events topic, each original once ever (the ledger), byte for
 * byte with its key, to the partition it came from; the copy gets a new Kafka timestamp,
 * against which the workers judge it. Every send is framed by ledger entries: `pending`
 * (with the partition's next offset) before, `replayed` (with the copy's offset) after,
 * so a replay that crashed in between is resolved by finding its copy by header. The
 * copy keeps the event's eventId, so the workers' resend deduplication also drops a
 * second copy sent within INGEST_DEDUP_WINDOW_SECONDS (two replays at the same time).
 * An original whose event the history already stores (the platform's own resend was
 * counted) is not sent: past the dedup window it would count twice.
 */
export async function replayLetters(letters: readonly Letter[], options: ReplayOptions): Promise<ReplayReport> {
  const { kafka, eventsTopic, ledger, apply, timeoutMs, progress } = options;
  const now = options.now ?? Date.now;
  const entries = await ledger.read(timeoutMs);
  progress(`replay ledger ${ledger.topic}: ${entries.size} original(s) recorded`);
  const verdicts = planReplay(letters, entries, eventsTopic);
  const report: ReplayReport = {
    applied: apply,
    replayed: [],
    recovered: [],
    alreadyReplayed: [],
    sameOriginal: [],
    counted: [],
    refused: [],
  };
  const candidates: Letter[] = [];
  const pending: Extract<Verdict, { kind: 'pending' }>[] = [];
  for (const v of verdicts) {
    if (v.kind === 'replay') candidates.push(v.letter);
    else if (v.kind === 'pending') pending.push(v);
    else if (v.kind === 'already-replayed') report.alreadyReplayed.push(v);
    else if (v.kind === 'same-original') report.sameOriginal.push(v);
    else report.refused.push(v);
  }
  if (pending.length > 0) {
    progress(`${pending.length} original(s) whose replay was interrupted: looking for their copies on ${eventsTopic}`);
    const { found, unsearched } = await findCopies(kafka, eventsTopic, pending, timeoutMs);
    for (const { letter } of pending) {
      const id = originalId(letter);
      const copy = found.get(id);
      if (copy) report.recovered.push({ letter, copy });
      else if (unsearched.has(id))
        report.refused.push({
          letter,
          why: `a replay was interrupted while sending it and ${eventsTopic} could not be searched for its copy within --timeout; run again with a longer --timeout`,
        });
      else candidates.push(letter);
    }
  }
  const toSend = await notCounted(candidates, options.storedEvents, report);
  if (!apply) {
    report.replayed = toSend.map((letter) => ({ letter, copy: null }));
    return report;
  }
  if (toSend.length > 0 || report.recovered.length > 0) await ledger.ensure();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  try {
    const stamp = () => new Date(now()).toISOString();
    await ledger.write(
      producer,
      new Map(
        report.recovered.map(({ letter, copy }) => [
          originalId(letter),
          replayedEntry(letter, copy, copy.offset, stamp()),
        ]),
      ),
    );
    report.replayed = await sendAll(toSend, { producer, admin, ledger, eventsTopic, stamp, progress });
  } finally {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }
  return report;
}

/** The letters whose event the history does not hold yet; the others go to `report.counted`. */
async function notCounted(
  letters: readonly Letter[],
  storedEvents: ReplayOptions['storedEvents'],
  report: ReplayReport,
): Promise<Letter[]> {
  const keys = new Map<Letter, EventKey>();
  for (const letter of letters) {
    const key = eventKeyOf(letter.bytes);
    if (key) keys.set(letter, key);
  }
  const stored = keys.size === 0 ? new Map<string, Position>() : await storedEvents([...keys.values()]);
  return letters.filter((letter) => {
    const key = keys.get(letter);
    const where = key && stored.get(sameEvent(key));
    if (where) report.counted.push({ letter, stored: where });
    return !where;
  });
}

function replayedEntry(letter: Letter, copy: Position, from: string, at: string): LedgerEntry {
  return {
    state: 'replayed',
    letter: positionId(letter.at),
    target: { topic: copy.topic, partition: copy.partition },
    from,
    offset: copy.offset,
    at,
  };
}

async function sendAll(
  letters: readonly Letter[],
  ctx: {
    producer: Producer;
    admin: Admin;
    ledger: ReplayLedger;
    eventsTopic: string;
    stamp: () => string;
    progress: (m: string) => void;
  },
): Promise<ReplayReport['replayed']> {
  const { producer, admin, ledger, eventsTopic: topic, stamp } = ctx;
  const byPartition = new Map<number, Outgoing[]>();
  for (const letter of letters) {
    const out: Outgoing = {
      key: letter.key,
      value: letter.bytes,
      headers: { [REPLAY_HEADERS.of]: originalId(letter), [REPLAY_HEADERS.letter]: positionId(letter.at) },
      letter,
    };
    const list = byPartition.get(letter.source.partition);
    if (list) list.push(out);
    else byPartition.set(letter.source.partition, [out]);
  }
  const sent: ReplayReport['replayed'] = [];
  for (const [partition, outgoing] of byPartition) {
    for (const chunk of splitBySize(topic, outgoing, MAX_REQUEST_BYTES)) {
      const from = (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)?.high;
      if (from === undefined) throw new Error(`${topic} has no partition ${partition}`);
      const at = stamp();
      await ledger.write(
        producer,
        new Map(
          chunk.map((o) => [
            originalId(o.letter),
            {
              state: 'pending',
              letter: positionId(o.letter.at),
              target: { topic, partition },
              from,
              at,
            } satisfies LedgerEntry,
          ]),
        ),
      );
      const meta = await producer.send({
        topic,
        acks: -1,
        messages: chunk.map(({ key, value, headers }) => ({ partition, key, value, headers })),
      });
      const base = meta.find((m) => m.partition === partition)?.baseOffset;
      if (base === undefined) throw new Error(`${topic} did not say where partition ${partition}'s copies landed`);
      const copies = chunk.map((o, i) => ({
        letter: o.letter,
        copy: { topic, partition, offset: String(BigInt(base) + BigInt(i)) },
      }));
      await ledger.write(
        producer,
        new Map(copies.map(({ letter, copy }) => [originalId(letter), replayedEntry(letter, copy, from, stamp())])),
      );
      sent.push(...copies);
      ctx.progress(`replayed ${sent.length}/${letters.length}`);
    }
  }
  return sent;
}

/** Looks for the copies of interrupted replays on the events topic, by their lt-replay-of header. */
async function findCopies(
  kafka: Kafka,
  topic: string,
  pending: readonly { letter: Letter; entry: LedgerEntry }[],
  timeoutMs: number,
): Promise<{ found: Map<string, Position>; unsearched: Set<string> }> {
  const wanted = new Set(pending.map((p) => originalId(p.letter)));
  const admin = kafka.admin();
  await admin.connect();
  const logs = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const starts = new Map<number, bigint>();
  for (const { entry } of pending) {
    const from = BigInt(entry.from);
    const known = starts.get(entry.target.partition);
    if (known === undefined || from < known) starts.set(entry.target.partition, from);
  }
  const ranges = [...starts].map(([partition, from]) => ({
    partition,
    from: String(from),
    to: logs.find((l) => l.partition === partition)?.high ?? String(from),
  }));
  const found = new Map<string, Position>();
  const { unfinished } = await readRanges(kafka, topic, ranges, {
    timeoutMs,
    onRecord: (record) => {
      const of = record.headers[REPLAY_HEADERS.of];
      if (of !== undefined && wanted.has(of) && !found.has(of))
        found.set(of, { topic, partition: record.partition, offset: record.offset });
      return found.size === wanted.size;
    },
  });
  const unsearchedPartitions = new Set(unfinished.map((r) => r.partition));
  const unsearched = new Set(
    pending
      .filter((p) => unsearchedPartitions.has(p.entry.target.partition) && !found.has(originalId(p.letter)))
      .map((p) => originalId(p.letter)),
  );
  return { found, unsearched };
}
