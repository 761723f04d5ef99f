import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSummary } from '../bench/summary.js';
import { tempDir } from './support/tmp.js';

function ingestResult(cpuModel: string, date: string, eventsPerUserDay: number | null): object {
  return {
    date,
    machine: { cpuModel, cpuCount: 2, totalMemBytes: 24 * 1024 ** 3, os: 'Linux 6 x64', node: 'v20.20.2', kafka: null, loadAvg1m: 0.5 },
    params: { eventsPerUserDay },
    embedded: { phase: { recordsPerSec: 1000 }, rawLmdb: { meanOpsPerSec: 5000 } },
    kafka: null,
    ratios: { embeddedVsRawLmdb: 0.2 },
  };
}

test('bench summary: the machines are those of the results, and each row names its run\'s CPU', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'results'));
    writeFileSync(join(dir, 'results', 'ingest.json'), JSON.stringify(ingestResult('Intel(R) Xeon(R) Processor @ 2.50GHz', '2026-11-22T11:05:00.000Z', null)));
    writeFileSync(join(dir, 'results', 'ingest-activity.json'), JSON.stringify(ingestResult('AMD EPYC', '2026-11-21T09:00:00.000Z', 20.5)));
    const md = readFileSync(await writeSummary(dir), 'utf8');
    const machines = md.split('\n').find((l) => l.startsWith('Machines (the runs were made on 2 machines')) ?? '';
    assert.match(machines, /2 × Intel\(R\) Xeon\(R\) Processor @ 2\.50GHz, 24\.0 GiB RAM/);
    assert.match(machines, /2 × AMD EPYC, 24\.0 GiB RAM/);
    assert.match(md, /different CPUs/);
    assert.match(md, /\| ingest \(decision topology\) \|[^\n]*\| 2026-11-22 11:05 \(load 0\.5, Intel Xeon 2\.50GHz\) \|/);
    assert.match(md, /\| ingest-activity \(simulator, 20\.5 events a user a day\) \|[^\n]*\| 2026-11-21 09:00 \(load 0\.5, AMD EPYC\) \|/);
    // One machine: one line, and no warning about comparing across CPUs.
    writeFileSync(join(dir, 'results', 'ingest-activity.json'), JSON.stringify(ingestResult('Intel(R) Xeon(R) Processor @ 2.50GHz', '2026-11-21T09:00:00.000Z', 200)));
    const one = readFileSync(await writeSummary(dir), 'utf8');
    assert.match(one, /^Machine: 2 × Intel\(R\) Xeon\(R\) Processor @ 2\.50GHz, 24\.0 GiB RAM/m);
    assert.doesNotMatch(one, /different CPUs/);
  } finally {
    cleanup();
  }
});
