import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MIGRATIONS } from '@livetally/history';
import { CollectorMetrics } from '../services/collector/src/metrics';
import { GatewayMetrics } from '../services/gateway/src/metrics';
import { createIngestMetrics } from '../services/ingest/src/metrics';

/**
 * The monitoring files under infra/ and docs/metrics.md against what the services
 * really export: a renamed metric must not leave a dashboard panel or an alert silently
 * empty.
 */
const ROOT = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Exported {
  names: Set<string>;
  histograms: Set<string>;
}

async function readExportedMetrics(): Promise<Exported> {
  const registries = [createIngestMetrics().registry, new GatewayMetrics().registry, new CollectorMetrics().registry];
  const names = new Set<string>(['up']);
  const histograms = new Set<string>();
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') histograms.add(metric.name);
    }
  }
  return { names, histograms };
}

/** Read once: every test asks the same three registries. */
let exportedOnce: Promise<Exported> | undefined;
const exportedMetrics = () => (exportedOnce ??= readExportedMetrics());

/** A series name in PromQL as the metric it comes from (histogram series carry suffixes). */
function metricOf(series: string, exported: Exported): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = series.slice(0, -suffix.length);
    if (series.endsWith(suffix) && exported.histograms.has(base)) return base;
  }
  return series;
}

const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'rate',
  'increase',
  'deriv',
  'histogram_quantile',
  'and',
  'or',
  'unless',
]);

/** Metric names in a PromQL expression: identifiers outside strings, label matchers, ranges and by/without lists. */
function seriesIn(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '');
  const names = bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return names.filter((n) => !PROMQL_WORDS.has(n));
}

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: { expr?: string; rawSql?: string; datasource: { uid: string } }[];
}

function dashboards(): { file: string; json: { uid: string; title: string; panels: Panel[] } }[] {
  const dir = 'infra/grafana/dashboards';
  return readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: f, json: JSON.parse(read(join(dir, f))) }));
}

const datasourceUids = () =>
  new Set(
    (
      parse(read('infra/grafana/provisioning/datasources/livetally.yml')) as { datasources: { uid: string }[] }
    ).datasources.map((d) => d.uid),
  );

function alertRules(): { alert: string; expr: string; annotations: { runbook?: string } }[] {
  const file = parse(read('infra/prometheus/alerts.yml')) as {
    groups: { rules: { alert: string; expr: string; annotations: { runbook?: string } }[] }[];
  };
  return file.groups.flatMap((g) => g.rules);
}

describe('monitoring files', () => {
  it('every metric a dashboard panel or an alert names is exported by a service', async () => {
    const exported = await exportedMetrics();
    const named: { where: string; metric: string }[] = [];
    for (const { file, json } of dashboards())
      for (const panel of json.panels)
        for (const target of panel.targets)
          if (target.expr)
            for (const s of seriesIn(target.expr)) named.push({ where: `${file}: ${panel.title}`, metric: s });
    for (const rule of alertRules())
      for (const s of seriesIn(rule.expr)) named.push({ where: `alert ${rule.alert}`, metric: s });
    expect(named.length).toBeGreaterThan(20);
    const missing = named.filter((n) => !exported.names.has(metricOf(n.metric, exported)));
    expect(missing).toEqual([]);
  });

  it('the name extraction sees through functions, matchers, ranges and histogram suffixes', async () => {
    const exported = await exportedMetrics();
    const names = seriesIn(
      'histogram_quantile(0.99, sum by (le) (rate(livetally_gateway_update_fanout_latency_seconds_bucket{job=~"a.*"}[5m])))',
    );
    expect(names).toEqual(['livetally_gateway_update_fanout_latency_seconds_bucket']);
    expect(metricOf(names[0]!, exported)).toBe('livetally_gateway_update_fanout_latency_seconds');
    expect(exported.names.has(metricOf('livetally_gateway_renamed_total', exported))).toBe(false);
  });

  it("the project's metrics carry the livetally_ prefix and Node's defaults keep their stock names", async () => {
    const { names } = await exportedMetrics();
    const own = [...names].filter((n) => !n.startsWith('process_') && !n.startsWith('nodejs_') && n !== 'up');
    expect(own.filter((n) => !/^livetally_(ingest|gateway|collector)_/.test(n))).toEqual([]);
    expect(names.has('process_cpu_seconds_total')).toBe(true);
    expect(names.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('docs/metrics.md lists every livetally_ metric and has a section for every alert', async () => {
    const doc = read('docs/metrics.md');
    const { names } = await exportedMetrics();
    const undocumented = [...names].filter((n) => n.startsWith('livetally_') && !doc.includes(`\`${n}\``));
    expect(undocumented).toEqual([]);
    for (const rule of alertRules()) {
      expect(doc).toContain(`### ${rule.alert}\n`);
      expect(rule.annotations.runbook).toBe(`docs/metrics.md#${rule.alert.toLowerCase()}`);
    }
  });

  it('dashboards are valid JSON with unique uids, and every panel uses a provisioned data source', () => {
    const uids = datasourceUids();
    const all = dashboards();
    expect(all.map((d) => d.file).sort()).toEqual(['campaign-figures.json', 'pipeline-health.json']);
    expect(new Set(all.map((d) => d.json.uid)).size).toBe(all.length);
    for (const { json } of all) {
      expect(json.panels.length).toBeGreaterThan(0);
      for (const panel of json.panels) {
        expect(uids).toContain(panel.datasource.uid);
        for (const target of panel.targets) expect(uids).toContain(target.datasource.uid);
      }
    }
  });

  it('the ClickHouse panels read only tables the migrations create', () => {
    const created = new Set(
      MIGRATIONS.flatMap((m) => m.statements).flatMap((sql) => {
        const match = /CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)/.exec(sql);
        return match ? [match[1]!] : [];
      }),
    );
    const read = dashboards().flatMap(({ json }) =>
      json.panels.flatMap((p) => p.targets.flatMap((t) => [...(t.rawSql ?? '').matchAll(/\bFROM\s+(\w+)/g)])),
    );
    expect(read.length).toBeGreaterThan(0);
    for (const match of read) expect(created).toContain(match[1]);
  });

  it('the scrape config names the jobs the alerts and dashboards select', () => {
    const config = parse(read('infra/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string }[];
    };
    const jobs = config.scrape_configs.map((s) => s.job_name);
    expect(jobs).toEqual(expect.arrayContaining(['livetally-ingest', 'livetally-gateway']));
    for (const job of jobs) expect(job).toMatch(/^livetally-/);
    expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
  });

  const promtool = (() => {
    try {
      execFileSync('promtool', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!promtool)("Prometheus's own promtool accepts the rules (skipped: promtool is not installed)", () => {
    execFileSync('promtool', ['check', 'rules', join(ROOT, 'infra/prometheus/alerts.yml')], { stdio: 'pipe' });
  });
});
