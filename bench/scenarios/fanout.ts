import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RedisCounterStore, type Totals } from '@livetally/live-state';
import type { Scenario } from '../lib/context';
import { summarizeProcessProfile, type ProfileSummary } from '../lib/cpuprofile';
import { fmtInt } from '../lib/log';
import { CpuWindow, rssBytes, stackPids, type CpuUse } from '../lib/proc';
import { startService, startWorker, type WorkerChild } from '../lib/processes';
import { Histogram, type Summary } from '../lib/stats';
import { deletePrefix, markFreshDeployment } from '../lib/stores';
import { freePort, ROOT, sleep, STACK, uniqueName, waitFor } from '../lib/stack';

/**
 * 5. Gateway fan-out: one gateway process, N WebSocket clients in separate processes,
 * each subscribed to one of a handful of channels. A driver applies a batch to Redis
 * every ~200 ms through RedisCounterStore.applyBatch (as an ingest worker does, so the
 * change notification is the real one); the batch makes salesFen of every channel equal
 * to the wall-clock ms of the apply, so each client reads the apply time off the frame.
 *
 * Delivery lag = the moment a client process reads the frame off its socket − the moment
 * the driver started the apply, both Date.now() on this machine: it includes the change
 * notification, the wait for the gateway's next push (LIVE_PUSH_INTERVAL_MS, default
 * 100 ms after the previous one; LIVE_TICK_MS is 100 here), the Redis read and the fan-out. On this
 * 2-core machine the clients share the cores with the gateway, so they are kept cheap
 * (bench/workers/ws-clients.ts parses frames itself rather than through ws) and each level
 * reports every process's CPU and the clients' own event-loop delay, which is part of the
 * lag a client measures. --profile writes CPU profiles of the gateway (summarised in the
 * log and the JSON) and of the client processes to bench-results/profiles/.
 */

export interface FanoutLevel {
  clients: number;
  connectSeconds: number;
  failedConnections: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  rssPerConnectionKiB: number;
  /** Arrival − apply time: change notification + tick wait + Redis read + fan-out + client. */
  deliveryLagMs: Summary;
  /** Arrival − the frame's ts (when the tick sent it): the cost of pushing to N sockets. */
  fanoutLagMs: Summary;
  applies: number;
  framesReceived: number;
  /** Frames a client should get: one per apply per client (the tick is shorter than the apply interval). */
  framesExpected: number;
  cpu: CpuUse;
  /** Event-loop delay of each client process while measuring: how late the clients themselves read. */
  clientLoopDelayMs: LoopDelay[];
}

interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

export interface FanoutResult {
  tickMs: number;
  applyEveryMs: number;
  channels: string[];
  clientProcesses: number;
  levels: FanoutLevel[];
  /** --profile: the gateway's CPU profile over all levels (connects included). */
  profile?: ProfileSummary | null;
}

type Msg =
  | { type: 'started' }
  | { type: 'connected'; open: number; failed: number; errors: number; seconds: number }
  | {
      type: 'measured';
      lag: [number, number][];
      fan: [number, number][];
      frames: number;
      closed: number;
      open: number;
      loopDelayMs: LoopDelay;
    }
  | { type: 'closed' };

const CHANNEL_SCOPES = [
  'all',
  'city:Shenzhen',
  'district:Futian',
  'district:Nanshan',
  'platform:douyin',
  "district:Bao'an",
  'category:jewellery',
  'platform:taobao',
];

const is =
  <T extends Msg['type']>(type: T) =>
  (m: Msg): m is Extract<Msg, { type: T }> =>
    m.type === type;

export const fanout: Scenario<FanoutResult> = {
  name: 'fanout',
  title: 'Gateway fan-out: one gateway, N WebSocket clients in separate processes',
  async run(ctx, log) {
    const {
      fanoutClients,
      fanoutChannels,
      fanoutMeasureSeconds,
      fanoutApplyEveryMs,
      fanoutTickMs,
      fanoutClientProcesses,
    } = ctx.opts.sizes;
    const run = uniqueName('bench_fanout');
    const scopes = CHANNEL_SCOPES.slice(0, fanoutChannels);
    const channels = scopes.map((s) => `totals:${s}`);
    const cleanup = ctx.onCleanup(() => deletePrefix(ctx.redis, run));
    await markFreshDeployment(ctx.redis, run, 'fanout', 1);
    const store = new RedisCounterStore(ctx.redis, { prefix: run });
    const { gen } = await store.takePartition('fanout', 0, 0);
    const port = await freePort();
    // Every client connects from 127.0.0.1: lift the gateway's connection caps (per address
    // 100 by default) above the largest level, or all but the first 100 are refused.
    const cap = String(Math.max(...fanoutClients) + 100);
    const profileDir = join(ROOT, ctx.opts.outDir, 'profiles');
    if (ctx.opts.profile) mkdirSync(profileDir, { recursive: true });
    const profileArgs = ctx.opts.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    const gateway = startService(
      'gateway',
      {
        GATEWAY_AUTH: 'off',
        GATEWAY_PORT: String(port),
        REDIS_URL: STACK.redisUrl,
        REDIS_KEY_PREFIX: run,
        LIVE_TICK_MS: String(fanoutTickMs),
        WS_MAX_CONNECTIONS: cap,
        WS_MAX_CONNECTIONS_PER_IP: cap,
      },
      profileArgs,
    );
    const clients: WorkerChild<Msg>[] = [];
    let applied = 0;
    let lastApplyAt = 0;
    const apply = async () => {
      const now = Date.now();
      // salesFen total = the apply's wall-clock ms (first delta sets it, later ones move it on).
      const delta: Partial<Totals> = { views: 1, salesFen: now - lastApplyAt };
      await store.applyBatch({
        topic: 'fanout',
        partition: 0,
        ownerGen: gen,
        expectedOffset: String(applied - 1),
        newOffset: String(applied),
        deltas: new Map(scopes.map((s) => [s, delta])),
      });
      lastApplyAt = now;
      applied++;
    };
    try {
      await waitFor(
        'gateway ready',
        () =>
          fetch(`http://127.0.0.1:${port}/readyz`).then(
            (r) => r.status === 200,
            () => false,
          ),
        60_000,
        200,
      );
      await apply(); // every channel exists before the first client subscribes
      for (let i = 0; i < fanoutClientProcesses; i++)
        clients.push(startWorker<Msg>('bench/workers/ws-clients.ts', {}, profileArgs));
      await Promise.all(clients.map((c) => c.next(is('started'), 60_000, 'client process start')));
      await sleep(1_000);
      const rssBefore = rssBytes(gateway.pid);
      log(
        `gateway pid ${gateway.pid}, tick ${fanoutTickMs} ms, RSS before clients ${(rssBefore / 2 ** 20).toFixed(1)} MiB; channels ${channels.join(', ')}`,
      );
      const levels: FanoutLevel[] = [];
      for (const total of fanoutClients) {
        const connectStarted = performance.now();
        const share = (i: number) => Math.floor(total / clients.length) + (i < total % clients.length ? 1 : 0);
        clients.forEach((c, i) =>
          c.send({ cmd: 'connect', url: `ws://127.0.0.1:${port}/v1/live`, total: share(i), channels, offset: i }),
        );
        const connected = await Promise.all(
          clients.map((c) => c.next(is('connected'), 300_000, `${total} connections`)),
        );
        const connectSeconds = (performance.now() - connectStarted) / 1000;
        const open = connected.reduce((n, c) => n + c.open, 0);
        const failed = connected.reduce((n, c) => n + c.failed, 0);
        log(
          `${fmtInt(open)} clients connected and subscribed in ${connectSeconds.toFixed(1)} s${failed ? ` (${failed} failed)` : ''}`,
        );
        // A level that did not get its clients would report the figure of a smaller one.
        if (open < total) throw new Error(`only ${open} of ${total} clients connected (${failed} failed)`);
        await sleep(2_000);
        const rssAfter = rssBytes(gateway.pid);

        // Drive: one apply every applyEveryMs for the window (plus a second of warm-up).
        let driving = true;
        const appliesBefore = applied;
        const driver = (async () => {
          let next = performance.now();
          while (driving) {
            await apply();
            next += fanoutApplyEveryMs;
            await sleep(Math.max(0, next - performance.now()));
          }
        })();
        await sleep(1_000);
        const cpu = new CpuWindow({
          gateway: gateway.pid,
          ...Object.fromEntries(clients.map((c, i) => [`clients${i + 1}`, c.pid])),
          redis: stackPids().redis ?? 0,
        });
        const appliesAtStart = applied;
        clients.forEach((c) => c.send({ cmd: 'measure', ms: fanoutMeasureSeconds * 1000 }));
        const measured = await Promise.all(
          clients.map((c) => c.next(is('measured'), fanoutMeasureSeconds * 1000 + 60_000, 'measurement')),
        );
        const appliesInWindow = applied - appliesAtStart;
        const usage = cpu.stop();
        driving = false;
        await driver;
        const lag = new Histogram(60_000);
        const fan = new Histogram(60_000);
        for (const m of measured) {
          lag.addSparse(m.lag);
          fan.addSparse(m.fan);
        }
        const level: FanoutLevel = {
          clients: open,
          connectSeconds,
          failedConnections: failed,
          rssBeforeMiB: rssBefore / 2 ** 20,
          rssAfterMiB: rssAfter / 2 ** 20,
          rssPerConnectionKiB: (rssAfter - rssBefore) / open / 1024,
          deliveryLagMs: lag.summary(),
          fanoutLagMs: fan.summary(),
          applies: applied - appliesBefore,
          framesReceived: measured.reduce((n, m) => n + m.frames, 0),
          framesExpected: appliesInWindow * open,
          cpu: usage,
          clientLoopDelayMs: measured.map((m) => m.loopDelayMs),
        };
        levels.push(level);
        log(
          `${fmtInt(open)} clients: delivery lag p50 ${level.deliveryLagMs.p50} ms, p99 ${level.deliveryLagMs.p99} ms; fan-out p99 ${level.fanoutLagMs.p99} ms; ` +
            `${fmtInt(level.framesReceived)}/${fmtInt(level.framesExpected)} frames; RSS ${(rssAfter / 2 ** 20).toFixed(0)} MiB = ${level.rssPerConnectionKiB.toFixed(1)} KiB/connection; ` +
            `CPU % ${Object.entries(usage.perProcess)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}, machine ${usage.machinePercent}%; ` +
            `client loop delay p99 ${level.clientLoopDelayMs.map((d) => d.p99.toFixed(0)).join('/')} ms`,
        );
        if (!gateway.running()) throw new Error(`gateway exited:\n${gateway.output().slice(-3000)}`);
      }
      let profile: ProfileSummary | null | undefined;
      if (ctx.opts.profile) {
        await gateway.stop('SIGTERM', 15_000); // the profile is written when the process exits
        profile = summarizeProcessProfile(profileDir, gateway.pid);
        for (const a of profile?.byArea ?? []) log(`gateway profile: ${a.area} ${a.selfPercent}%`);
        for (const f of profile?.top.slice(0, 10) ?? [])
          log(`gateway profile: ${f.selfPercent}% ${f.function} ${f.where}`);
        // The client processes' profiles stay in the directory (written when they exit): what the harness itself costs.
      }
      return {
        tickMs: fanoutTickMs,
        applyEveryMs: fanoutApplyEveryMs,
        channels,
        clientProcesses: clients.length,
        levels,
        ...(profile !== undefined ? { profile } : {}),
      };
    } finally {
      await Promise.all(
        clients.map(async (c) => {
          if (c.running()) {
            c.send({ cmd: 'close' });
            await c.next(is('closed'), 10_000, 'close').catch(() => undefined);
          }
          await c.stop('SIGTERM', 5_000);
        }),
      );
      await gateway.stop('SIGTERM', 15_000);
      await cleanup();
    }
  },
};
