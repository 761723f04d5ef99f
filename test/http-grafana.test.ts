import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { ProcessorMetrics } from '../processor/metrics.js';

const DASHBOARD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'grafana-dashboard.json');

/**
 * Metrics the dashboard charts that processor/metrics.ts does not declare yet (CONTRACT.md
 * lists them). Remove a name here once it is declared; the test then checks it for real.
 */
const PENDING: Record<string, 'counter' | 'gauge' | 'histogram'> = {
};

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string }>;
}

test('docs/grafana-dashboard.json charts only metrics that exist or are listed to be declared', async () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] };
  const declared = new Map<string, string>();
  for (const m of await new ProcessorMetrics(new Registry(), { defaultMetrics: false }).registry.getMetricsAsJSON()) declared.set(m.name, String(m.type));
  for (const [name, type] of Object.entries(PENDING)) {
    assert.ok(!declared.has(name), `${name} is declared now: remove it from PENDING`);
    declared.set(name, type);
  }

  const ids = new Set<number>();
  const used = new Set<string>();
  for (const p of dashboard.panels) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} is unique`);
    ids.add(p.id);
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
    for (const t of p.targets ?? []) {
      for (const raw of t.expr.match(/\bnudge_[a-z_]+/g) ?? []) {
        const base = raw.replace(/_(bucket|sum|count)$/, '');
        const name = declared.has(raw) ? raw : base;
        assert.ok(declared.has(name), `${p.title}: ${raw} is neither declared nor pending`);
        if (raw !== name) assert.equal(declared.get(name), 'histogram', `${raw}: suffix of a histogram`);
        used.add(name);
      }
    }
  }
  // The CONTRACT's list, each charted somewhere.
  for (const name of ['nudge_records_in_total', 'nudge_consumer_lag', 'nudge_deadletters_total', 'nudge_state_bytes', 'nudge_restore_remaining_records', ...Object.keys(PENDING)]) {
    assert.ok(used.has(name), `${name} is on the dashboard`);
  }
});
