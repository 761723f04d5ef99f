import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_START } from '../cli/demo-world.js';
import { FEATURE_COUNT } from '../operators/decisions/feature-vector.js';
import { tempDir } from './support/tmp.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/*
 * The loop a user runs on the embedded default, through the CLI alone: a demo run kept on disk,
 * its decisions and events exported as JSON lines, a model trained on them, and that model
 * evaluated on the decisions made after its training time.
 */
test('cli: nudge demo --keep, then nudge export, nudge train and nudge eval on what it logged', { timeout: 180_000 }, () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const { dir, cleanup } = tempDir();
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  try {
    const used = join(dir, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'x'), '');
    const refused = run(['demo', '--users', '10', '--keep', used, '--report', join(dir, 'no.html')]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /--keep: .*used is not empty \(allowed: a new or empty directory\)/);
    const unwritable = run(['demo', '--users', '10', '--keep', join(used, 'x', 'kept'), '--report', join(dir, 'no.html')]);
    assert.equal(unwritable.status, 2, unwritable.stderr);
    assert.match(unwritable.stderr, /--keep: cannot create .*kept: ENOTDIR/);

    const keep = join(dir, 'kept');
    const demo = run(['demo', '--users', '3000', '--replicas', '2', '--keep', keep, '--report', join(dir, 'demo.html')]);
    assert.equal(demo.status, 0, demo.stderr);
    const [, decided, changes] = /^decisions: ([\d,]+) for [\d,]+ candidates, ([\d,]+) later changes$/m.exec(demo.stdout) ?? [];
    assert.ok(decided !== undefined && changes !== undefined, demo.stdout);
    assert.match(demo.stdout, /^kept: each replica's log and state, in .*replica-1, .*replica-2;/m);
    // Every send reached a provider: the fakes inject no faults here.
    assert.match(demo.stdout, /^outcomes: [\d,]+ sent$/m);
    // What the machine gave the run, to tell a busy host from slow code (cli/host-cpu.ts).
    if (process.platform === 'linux') assert.match(demo.stdout, /^the machine meanwhile \(\d+ × [^,]+, \/proc\/stat\): \d+\.\d s of CPU to other processes, \d+\.\d s withheld by the hypervisor \(steal\), \d+\.\d s idle$/m);
    assert.deepEqual(readdirSync(keep).sort(), ['replica-1', 'replica-2']);

    let decisionLines = '';
    let eventLines = '';
    let sendLines = '';
    for (const replica of ['replica-1', 'replica-2']) {
      const state = ['--state-dir', join(keep, replica)];
      const s = run(['export', 'sends', ...state]);
      assert.equal(s.status, 0, s.stderr);
      sendLines += s.stdout;
      const d = run(['export', 'decisions', ...state]);
      assert.equal(d.status, 0, d.stderr);
      decisionLines += d.stdout;
      const e = run(['export', 'events', ...state]);
      assert.equal(e.status, 0, e.stderr);
      eventLines += e.stdout;
    }
    // The SMS bill: each sent SMS at the price of the provider that took it (cli/demo-providers.ts:
    // Gupshup 0.12 in India, Twilio 0.5 elsewhere), beside the policy's estimate; both as printed.
    const sms = sendLines.trim().split('\n').map((l) => JSON.parse(l) as { channel: string; status: string; provider: string; segments: number; cost: number; providerCost?: number }).filter((x) => x.channel === 'sms' && x.status === 'sent');
    assert.ok(sms.some((x) => x.provider === 'twilio') && sms.some((x) => x.provider === 'gupshup-in'), 'SMS through both providers');
    const price: Record<string, number> = { 'gupshup-in': 0.12, twilio: 0.5 };
    for (const x of sms) assert.equal(x.providerCost, (price[x.provider] as number) * x.segments, `${x.provider} providerCost`);
    const total = (f: (x: (typeof sms)[number]) => number) => sms.reduce((a, x) => a + f(x), 0).toFixed(2);
    const segments = sms.reduce((a, x) => a + x.segments, 0).toLocaleString('en');
    assert.ok(demo.stdout.includes(`sms ${sms.length.toLocaleString('en')} (${segments} segments, cost ${total((x) => x.cost)} as the policy prices it, ${total((x) => x.providerCost ?? 0)} at the prices of the providers that took them)`), demo.stdout);
    assert.ok(Number(total((x) => x.providerCost ?? 0)) > Number(total((x) => x.cost)), 'Twilio charges more than the estimate');
    const decisions = decisionLines.trim().split('\n').map((l) => JSON.parse(l) as { action: string; features?: number[] });
    // Every decision and every later change (a preemption, an opt-out before the send) the run
    // printed is in the replicas' logs, each replica's own users' once.
    assert.equal(decisions.length, Number(decided.replaceAll(',', '')) + Number(changes.replaceAll(',', '')));
    const messages = decisions.filter((d) => d.action === 'send' || d.action === 'schedule');
    assert.ok(messages.length > 500, `${messages.length} messages`);
    assert.ok(messages.every((d) => d.features?.length === FEATURE_COUNT), 'each message carries its feature vector');
    const decisionsFile = join(dir, 'decisions.jsonl');
    const eventsFile = join(dir, 'events.jsonl');
    writeFileSync(decisionsFile, decisionLines);
    writeFileSync(eventsFile, eventLines);

    // A training time before the run (the wall clock's "now" is not the demo's virtual day) is named as the cause.
    const early = run(['train', '--decisions', decisionsFile, '--events', eventsFile, '--registry', join(dir, 'early'), '--as-of', iso(DEMO_START - 24 * HOUR)]);
    assert.equal(early.status, 1, early.stderr);
    assert.match(early.stderr, /the training time is before the messages \(the first was sent at \d{4}-\d\d-\d\dT[\d:.]+Z\)/);
    // Trained on the first six hours of the day; judged on the messages after them, once their labels are final.
    const registry = join(dir, 'registry');
    const train = run(['train', '--decisions', decisionsFile, '--events', eventsFile, '--registry', registry, '--as-of', iso(DEMO_START + 6 * HOUR)]);
    assert.equal(train.status, 0, train.stderr);
    const joined = train.stderr.split('\n').flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [])).find((l) => l['event'] === 'training data joined');
    assert.ok(joined !== undefined && (joined['messages'] as number) > 0 && (joined['click'] as number) > 0, train.stderr);
    const trained = JSON.parse(train.stdout) as { version: string; dir: string };
    for (const file of ['manifest.json', 'model.json', 'weights.bin', 'feature-spec.json', 'calibration.json']) assert.ok(existsSync(join(trained.dir, file)), `${file} in the new version`);

    // As of the training time itself, nothing is labelled yet: said on standard error, not left to the report's nulls.
    const tooSoon = run(['eval', '--model', trained.dir, '--decisions', decisionsFile, '--events', eventsFile, '--as-of', iso(DEMO_START + 6 * HOUR)]);
    assert.equal(tooSoon.status, 0, tooSoon.stderr);
    assert.equal((JSON.parse(tooSoon.stdout) as { messages: number }).messages, 0);
    assert.match(tooSoon.stderr, /^nothing to evaluate: no message sent since .* has a final label as of /m);
    const evaluated = run(['eval', '--model', trained.dir, '--decisions', decisionsFile, '--events', eventsFile, '--as-of', iso(DEMO_START + 4 * 24 * HOUR)]);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const report = JSON.parse(evaluated.stdout) as { modelVersion: string; messages: number; model: { click: { overall: { n: number; positives: number; auc: number | null } } } };
    assert.match(report.modelVersion, new RegExp(trained.version));
    assert.ok(report.messages > 0, 'messages after the training time');
    assert.equal(report.model.click.overall.n, report.messages);
    assert.ok(report.model.click.overall.positives > 0, 'clicks among them');
    assert.equal(typeof report.model.click.overall.auc, 'number');
  } finally {
    cleanup();
  }
});
