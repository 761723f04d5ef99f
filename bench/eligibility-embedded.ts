import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { benchEligibility, type BenchEligibilityResult } from '../http/bench-eligibility.js';
import type { EligibilityRequest } from '../http/replica-api.js';
import { ReplicaBinding } from '../http/replica-binding.js';
import { startHttpServer } from '../http/server.js';
import { topologyFor } from '../operators/topologies.js';
import { createReplica } from '../processor/create-replica.js';
import { LocalDirectory } from '../processor/kafka/directory.js';
import type { Replica } from '../processor/replica.js';
import { BenchClock, benchCampaign } from './decision-workload.js';
import { BUDGET_MS, GOAL_P99_MS, TimedApi, WARMUP_SECONDS, arrivalCells, cpuPct, cpuPerRequest, idleCpu, keys, measureWindow, profileFor, ratio, sampleRequests, serverCells, verdict, type LoadWindow, type SampleResult } from './eligibility-api.js';
import { mulberry32, userId } from './events.js';
import { startRun, validateIntegers } from './harness.js';
import { sleep, throwIfAborted } from './measure.js';
import { fmtInt, fmtMs, fmtRatio, fmtSec, sectionHead, table, writeScenario, type MachineInfo } from './report.js';

export interface EligibilityEmbeddedOptions {
  rate: number;
  seconds: number;
  users: number;
  out?: string;
  log?: (s: string) => void;
  signal?: AbortSignal;
  seed?: number;
}

export interface EligibilityEmbeddedReport {
  scenario: 'eligibility-api-embedded';
  date: string;
  command: string;
  durationMs: number;
  machine: MachineInfo;
  params: { rate: number; seconds: number; users: number; partitions: number; seed: number; connections: number; bodyPool: number; warmupSeconds: number; campaign: Record<string, unknown> };
  setup: { replicaReadyMs: number; loadMs: number; idleCpuMsPerSec: number };
  sample: SampleResult;
  warmup: BenchEligibilityResult;
  reference: { before: LoadWindow; after: LoadWindow };
  local: LoadWindow;
  ratios: {
    localP50VsReference: number | null;
    localP99VsReference: number | null;
    cpuUsPerRequest: { reference: number; local: number };
    localCpuPerRequestVsReference: number | null;
  };
}

const PARTITIONS = 4;
const HOUR = 3_600_000;

export function eligibilityEmbeddedCommand(opts: Pick<EligibilityEmbeddedOptions, 'rate' | 'seconds' | 'users'>): string {
  return `node dist/bench/main.js eligibility-api --engine embedded --rate ${opts.rate} --seconds ${opts.seconds} --users ${opts.users}`;
}

/**
 * The "eligibility-api" scenario on the embedded default, as `nudge run` serves it with no
 * Kafka: one replica owns every partition, so every request is answered where it lands.
 * POST /v1/eligibility at a fixed rate from a second process; the trivial uWS endpoint at
 * the same rate, before and after, is the same-run reference.
 */
export async function runEligibilityEmbeddedBench(opts: EligibilityEmbeddedOptions): Promise<EligibilityEmbeddedReport> {
  validateIntegers([
    ['rate', opts.rate, 1],
    ['seconds', opts.seconds, 1],
    ['users', opts.users, 8],
  ]);
  const { log, signal, seed, logger, date, machine, t0, tmp } = startRun('eligibility-embedded', { kafka: false, ...opts });
  let replica: Replica | undefined;
  let close: (() => void) | undefined;
  try {
    const token = randomBytes(24).toString('base64url');
    const config = validateConfig({ state: { dir: join(tmp.dir, 'state') }, embedded: { partitions: PARTITIONS }, http: { host: '127.0.0.1', port: 0 }, log: { level: 'warn' } });
    // Monday 10:00 in India whenever the bench runs: what a request decides depends on the hour.
    const clock = new BenchClock();
    const created = createReplica({ config, topology: topologyFor(config), logger, clock });
    replica = created.replica;
    const embedded = created.embeddedLog;
    if (embedded === undefined) throw new Error('no embedded log: this scenario runs without Kafka');
    let fatal: Error | undefined;
    replica.onFatal((err) => (fatal ??= err));
    const r0 = performance.now();
    await replica.start();
    const api = new TimedApi(new ReplicaBinding(replica, { directory: new LocalDirectory(), token, forwardTimeoutMs: config.http.forwardTimeoutMs }));
    const server = await startHttpServer({ api, host: '127.0.0.1', port: 0, token, maxBodyBytes: config.http.maxBodyBytes, log: logger.child({ component: 'http' }) });
    close = () => server.close();
    const base = `http://127.0.0.1:${server.port}`;
    const replicaReadyMs = performance.now() - r0;

    log(`loading ${opts.users} profiles and one campaign into the embedded log`);
    const l0 = performance.now();
    const campaign = benchCampaign(`bench-eligibility-${randomBytes(3).toString('hex')}`, clock.now() - HOUR);
    const campaignId = campaign['campaignId'] as string;
    embedded.append(replica.topics.campaigns, [{ key: campaignId, value: JSON.stringify(campaign) }]);
    const profiles = replica.topics.input('profiles');
    const ids = Array.from({ length: opts.users }, (_, i) => userId(i));
    embedded.append(profiles, ids.map((id, i) => ({ key: id, value: JSON.stringify(profileFor(i)) })));
    const owned = (p: number) => replica?.tasks.get(p)?.position(profiles) ?? -1;
    for (const deadline = performance.now() + 180_000; ; ) {
      throwIfAborted(signal);
      if (fatal !== undefined) throw fatal;
      if (Array.from({ length: PARTITIONS }, (_, p) => owned(p) >= embedded.end(profiles, p)).every(Boolean) && replica.campaigns.get(campaignId) !== undefined) break;
      if (performance.now() > deadline) throw new Error('timed out after 180 s waiting for every profile to be committed');
      await sleep(50);
    }
    const loadMs = performance.now() - l0;
    log(`  loaded in ${fmtSec(loadMs)}`);

    const sample = await sampleRequests(base, token, ids, campaignId, replica.id);
    log(`  checked ${sample.requests} requests one by one: answered by ${keys(sample.answeredBy)}; actions ${keys(sample.actions)}`);
    const idleCpuMsPerSec = await idleCpu(3_000, signal);

    const rand = mulberry32(seed ^ 0xe11);
    const bodies = () => JSON.stringify({ userId: ids[Math.floor(rand() * ids.length)] as string, campaignId } satisfies EligibilityRequest);
    const url = `${base}/v1/eligibility`;
    log(`warm-up: ${WARMUP_SECONDS} s at ${opts.rate}/s (not recorded)`);
    const warmup = await benchEligibility({ token, rate: opts.rate, url, seconds: WARMUP_SECONDS, bodies });

    const run = (label: string, target: 'reference' | 'local'): Promise<LoadWindow> =>
      measureWindow({ label, target, url, seconds: opts.seconds, load: { token, rate: opts.rate }, bodies, server: api, signal, log });
    log(`measured windows: ${opts.seconds} s each at ${opts.rate} requests/s`);
    const before = await run('reference (before)', 'reference');
    const local = await run('nudge (embedded, one replica)', 'local');
    const after = await run('reference (after)', 'reference');
    if (fatal !== undefined) throw fatal;

    const cpuPerReq = (w: LoadWindow) => cpuPerRequest(w, idleCpuMsPerSec);
    const refCpu = (cpuPerReq(before) + cpuPerReq(after)) / 2;
    const report: EligibilityEmbeddedReport = {
      scenario: 'eligibility-api-embedded',
      date,
      command: eligibilityEmbeddedCommand(opts),
      durationMs: performance.now() - t0,
      machine,
      params: {
        rate: opts.rate,
        seconds: opts.seconds,
        users: opts.users,
        partitions: PARTITIONS,
        seed,
        connections: Math.min(256, Math.max(2, Math.ceil(opts.rate / 250))),
        bodyPool: Math.max(1, Math.min(opts.rate * opts.seconds, 5_000)),
        warmupSeconds: WARMUP_SECONDS,
        campaign: { ...campaign, window: { start: 'load time', end: 'load time + 12 h' } },
      },
      setup: { replicaReadyMs, loadMs, idleCpuMsPerSec },
      sample,
      warmup,
      reference: { before, after },
      local,
      ratios: {
        localP50VsReference: ratio(local.load.p50, (before.load.p50 + after.load.p50) / 2),
        localP99VsReference: ratio(local.load.p99, (before.load.p99 + after.load.p99) / 2),
        cpuUsPerRequest: { reference: refCpu * 1000, local: cpuPerReq(local) * 1000 },
        localCpuPerRequestVsReference: ratio(cpuPerReq(local), refCpu),
      },
    };
    if (opts.out !== undefined) {
      const written = await writeScenario('eligibility-api-embedded', report, renderEligibilityEmbeddedSection(report), opts.out);
      log(`wrote ${written.json} and ${written.markdown}`);
    }
    return report;
  } finally {
    close?.();
    await replica?.stop().catch(() => undefined);
    tmp.cleanup();
  }
}

export function eligibilityEmbeddedTable(r: EligibilityEmbeddedReport): string {
  const w = (x: LoadWindow) => `${x.label}: p50/p90/p99 ${x.load.p50}/${x.load.p90}/${x.load.p99} ms, ${fmtInt(x.load.rps)} req/s, ${fmtInt(x.load.errors)} errors`;
  return [
    w(r.reference.before),
    w(r.local),
    w(r.reference.after),
    `p99 ÷ reference ${fmtRatio(r.ratios.localP99VsReference)}; CPU per request ${r.ratios.cpuUsPerRequest.local.toFixed(0)} µs (reference ${r.ratios.cpuUsPerRequest.reference.toFixed(0)} µs); goal p99 < ${GOAL_P99_MS} ms ${verdict(r.local.load.p99, GOAL_P99_MS)}`,
  ].join('\n');
}

export function renderEligibilityEmbeddedSection(r: EligibilityEmbeddedReport): string {
  const p = r.params;
  const s = r.setup;
  const refP50 = (r.reference.before.load.p50 + r.reference.after.load.p50) / 2;
  const refP99 = (r.reference.before.load.p99 + r.reference.after.load.p99) / 2;
  const out = sectionHead('## eligibility-api on the embedded default: one replica, every request local', r);
  out.push(
    `Setup: \`nudge run\` with no Kafka: one replica on the embedded default owning all ${p.partitions} partitions, its uWS HTTP server (\`startHttpServer\` + \`ReplicaBinding\` with the local directory) in this process. Decision topology with the heuristic scorer; ${fmtInt(p.users)} profiles shaped like the tests' \`indiaUser\` appended to the embedded profiles topic; one promotional sms+push campaign. Replica ready in ${fmtSec(s.replicaReadyMs)}; load took ${fmtSec(s.loadMs)}. Load as in the Kafka section (autocannon in a second process, ${fmtInt(p.rate)} requests/s for ${p.seconds} s per window over ${p.connections} keep-alive connections, bodies from a pool of ${fmtInt(p.bodyPool)} users, ${p.warmupSeconds} s of unrecorded warm-up); order: reference, nudge, reference. Its notes on autocannon's whole-millisecond histogram and coordinated-omission correction apply here too.`,
  );
  out.push('');
  const row = (w: LoadWindow, vs: string, vs99: string) => [w.label, `${w.load.p50} ms`, `${w.load.p90} ms`, `${w.load.p99} ms`, fmtInt(w.load.rps), fmtInt(w.load.errors), cpuPct(w), `${fmtMs(w.stalls.loopDelayP99Ms)} / ${fmtMs(w.stalls.loopDelayMaxMs)}`, `${fmtInt(w.stalls.gcPauses)}, ${fmtMs(w.stalls.gcMaxMs)}`, vs, vs99];
  out.push(
    table(
      ['window', 'p50', 'p90', 'p99', 'requests/s', 'errors', 'CPU of this process', 'event loop late by, p99 / max', 'GC pauses, longest', 'p50 ÷ reference', 'p99 ÷ reference'],
      [row(r.reference.before, '–', '–'), row(r.local, fmtRatio(r.ratios.localP50VsReference), fmtRatio(r.ratios.localP99VsReference)), row(r.reference.after, '–', '–')],
    ),
  );
  out.push('');
  out.push(
    `Against the issue: p99 under ${GOAL_P99_MS} ms at thousands of requests per second — ${r.local.load.p99} ms (${verdict(r.local.load.p99, GOAL_P99_MS)}) at ${fmtInt(p.rate)}/s; budget ${BUDGET_MS} ms ${verdict(r.local.load.p99, BUDGET_MS)}. Reference p50/p99: ${refP50} / ${refP99} ms (mean of the two runs). CPU of this process per request (idle ${s.idleCpuMsPerSec.toFixed(0)} ms/s taken out): reference ${r.ratios.cpuUsPerRequest.reference.toFixed(0)} µs, nudge ${r.ratios.cpuUsPerRequest.local.toFixed(0)} µs (${fmtRatio(r.ratios.localCpuPerRequestVsReference)}×); at that figure one core answers about ${fmtInt(1e6 / Math.max(1, r.ratios.cpuUsPerRequest.local))} requests/s.`,
  );
  out.push('');
  out.push(table(['where', 'calls', 'handler p50 / p90 / p99', 'max', 'most in flight', 'arrivals: mean rate', 'busiest 10 ms (as a rate)', 'empty 10 ms bins'], [['replica', ...serverCells(r.local.server), ...arrivalCells(r.local.server)]]));
  out.push('');
  out.push(
    `Sample before the load (one request at a time, every answer checked): answered by ${keys(r.sample.answeredBy)} (p50 ${fmtMs(r.sample.p50Ms)}); actions ${keys(r.sample.actions)}. Warm-up: p99 ${r.warmup.p99} ms with ${fmtInt(r.warmup.errors)} errors.`,
  );
  return out.join('\n');
}
