import type { Producer } from 'kafkajs';
import { ConfigError } from '@livetally/config';
import { createKafka } from '@livetally/kafka';
import { createLogger } from '@livetally/logging';
import { parseSimulatorConfig, type SimulatorConfig } from './config';
import { buildDataset, expectedTotals } from './dataset';
import { printPlan, runCampaign, runLive } from './play';
import { SIMULATOR_USAGE } from './usage';

if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
  process.stdout.write(SIMULATOR_USAGE);
  process.exit(0);
}

let config: SimulatorConfig;
try {
  config = parseSimulatorConfig(process.env, process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
  process.exit(2);
}
if (config.planOnly) {
  printPlan(config);
  process.exit(0);
}
const logger = createLogger({ service: 'simulator', level: config.logLevel });
const kafka = createKafka({ clientId: 'livetally-simulator', brokers: config.brokers, logger });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });

let running = true;
const stop = (signal: NodeJS.Signals) => {
  // The first signal finishes the batch in flight and disconnects; a second one exits at once.
  if (!running) process.exit(signal === 'SIGINT' ? 130 : 143);
  running = false;
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const isRunning = () => running;

function progress(sent: number, total: number | null, startedAt: number) {
  const secs = (Date.now() - startedAt) / 1000;
  const of = total === null ? '' : ` / ${total} (${((100 * sent) / total).toFixed(1)}%)`;
  process.stderr.write(
    `[simulator] sent ${sent}${of} in ${secs.toFixed(1)} s, ${(sent / Math.max(secs, 0.001)).toFixed(0)} events/s\n`,
  );
}

async function runSeeded(p: Producer) {
  const now = Date.now();
  const data = buildDataset({
    seed: config.seed,
    count: config.count,
    malformedEvery: config.malformedEvery,
    duplicateEvery: config.duplicateEvery,
    lateEvery: config.lateEvery,
    startTs: now - 3_600_000,
    spanMs: 3_600_000,
    hosts: config.hosts,
  });
  const startedAt = Date.now();
  let lastReport = startedAt;
  for (let i = 0; i < data.length && running; i += 1_000) {
    const chunk = data.slice(i, i + 1_000);
    await p.send({ topic: config.topic, acks: -1, messages: chunk.map((m) => ({ key: m.key, value: m.value })) });
    if (Date.now() - lastReport >= 2_000 || i + chunk.length >= data.length) {
      progress(i + chunk.length, data.length, startedAt);
      lastReport = Date.now();
    }
  }
  const totals = expectedTotals(data.flatMap((m) => (m.event ? [m.event] : [])));
  const summary = {
    seed: config.seed,
    messages: data.length,
    valid: data.filter((m) => m.kind === 'valid').length,
    malformed: data.filter((m) => m.kind === 'malformed').length,
    duplicates: data.filter((m) => m.kind === 'duplicate').length,
    expected: Object.fromEntries(
      [...totals].filter(
        ([s]) => s === 'all' || s.startsWith('district:') || s.startsWith('category:') || s.startsWith('platform:'),
      ),
    ),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

await producer.connect();
try {
  if (config.mode === 'campaign') await runCampaign(producer, config, isRunning);
  else if (config.mode === 'live') await runLive(producer, config, isRunning);
  else await runSeeded(producer);
} finally {
  await producer.disconnect();
}
