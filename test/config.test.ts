import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { loadConfig, validateConfig } from '../config/load.js';
import { resolveSecret } from '../config/secrets.js';
import { ConfigError } from '../errors/index.js';
import { tempDir } from './support/tmp.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

test('config: defaults fill every section', () => {
  const c = validateConfig({});
  assert.equal(c.state.backend, 'lmdb');
  assert.equal(c.processor.guarantee, 'exactly_once');
  assert.deepEqual(c.kafka.brokers, []);
  assert.equal(c.topics.prefix, 'nudge.');
});

test('config: errors name the key, the value and what is allowed', () => {
  const e1 = configError(() => validateConfig({ state: { backend: 'leveldb' } }));
  assert.equal(e1.key, 'state.backend');
  assert.match(e1.message, /"leveldb"/);
  assert.equal(e1.allowed, '"lmdb" | "rocksdb"');
  const e2 = configError(() => validateConfig({ kafka: { partitionsConsumedConcurrently: 500 } }));
  assert.equal(e2.key, 'kafka.partitionsConsumedConcurrently');
  assert.equal(e2.allowed, 'an integer from 1 to 64');
  const e3 = configError(() => validateConfig({ kafka: { brokers: ['nohostport'] } }));
  assert.equal(e3.key, 'kafka.brokers.0');
});

test('config: unknown keys are refused, naming the keys that exist (autoCommit belongs to the processor)', () => {
  const e = configError(() => validateConfig({ kafka: { autoCommit: true } }));
  assert.equal(e.key, 'kafka.autoCommit');
  assert.match(e.allowed, /brokers/);
});

test('config: cross-field rule heartbeat < session timeout / 3', () => {
  const e = configError(() => validateConfig({ kafka: { sessionTimeoutMs: 9000, heartbeatIntervalMs: 5000 } }));
  assert.equal(e.key, 'kafka.heartbeatIntervalMs');
  assert.match(e.allowed, /≤ 3000/);
});

test('config: file, then environment, then flags; unknown NUDGE_ variables are errors', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ state: { dir: '/from-file' }, kafka: { groupId: 'file-group' } }));
    const c = loadConfig({ file, env: { NUDGE_STATE_DIR: '/from-env', NUDGE_HTTP_PORT: '9090' }, flags: { 'state.dir': '/from-flag' } });
    assert.equal(c.state.dir, '/from-flag');
    assert.equal(c.kafka.groupId, 'file-group');
    assert.equal(c.http.port, 9090, 'strings from the environment are converted');
    const e = configError(() => loadConfig({ env: { NUDGE_STAET_DIR: '/typo' } }));
    assert.equal(e.key, 'NUDGE_STAET_DIR');
    // Variables of the tools around the processor are not settings, and not refused as unknown ones.
    assert.equal(loadConfig({ env: { NUDGE_DEBUG: '1', NUDGE_TEST_DEADLINE_MS: '60000', NUDGE_STATE_DIR: '/from-env' } }).state.dir, '/from-env');
    writeFileSync(file, '{ not json');
    assert.equal(configError(() => loadConfig({ file })).key, '--config');
  } finally {
    cleanup();
  }
});

test('config: secrets come from the environment or a file, and a missing one is a config error', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'secret');
    writeFileSync(file, 's3cret\n');
    assert.equal(resolveSecret('http.token', { file }, {}), 's3cret');
    assert.equal(resolveSecret('http.token', { env: 'TOKEN' }, { TOKEN: 'abc' }), 'abc');
    assert.equal(configError(() => resolveSecret('http.token', { env: 'TOKEN' }, {})).key, 'http.token');
  } finally {
    cleanup();
  }
});

test('cli: a configuration error exits with status 2 and names the setting and the allowed values', () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [cli, 'run', '--http-port', '0'], { env: { ...process.env, NUDGE_GUARANTEE: 'maybe_once' }, encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /processor\.guarantee/);
  assert.match(r.stderr, /"exactly_once" \| "at_least_once"/);
});

test('cli: nudge train refuses an unknown --convert-head or --delayed with status 2, naming the flag and the choices', () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const base = [cli, 'train', '--decisions', 'none.jsonl', '--events', 'none.jsonl', '--registry', 'none'];
  const head = spawnSync(process.execPath, [...base, '--convert-head', 'view_through'], { encoding: 'utf8' });
  assert.equal(head.status, 2, head.stderr);
  assert.match(head.stderr, /--convert-head/);
  assert.match(head.stderr, /"given_click" \| "joint"/);
  const delayed = spawnSync(process.execPath, [...base, '--delayed', 'later'], { encoding: 'utf8' });
  assert.equal(delayed.status, 2, delayed.stderr);
  assert.match(delayed.stderr, /"fnw" \| "wait" \| "naive"/);
});

test('cli: nudge bench hands the scenario its options, and a bad one exits with status 2, naming it and what it allows', () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  // Refused by the scenario's own checks, before anything runs: so the options did reach it.
  const over = spawnSync(process.execPath, [cli, 'bench', 'decisions', '--users', '100', '--candidates', '200', '--no-write'], { encoding: 'utf8' });
  assert.equal(over.status, 2, over.stderr);
  assert.match(over.stderr, /--candidates: got 200/);
  assert.match(over.stderr, /allowed: at most --users/);
  const share = spawnSync(process.execPath, [cli, 'bench', 'decisions', '--active-share', '2', '--no-write'], { encoding: 'utf8' });
  assert.equal(share.status, 2, share.stderr);
  assert.match(share.stderr, /--active-share: got 2 \(allowed: a number from 0 to 1\)/);
  const parts = spawnSync(process.execPath, [cli, 'bench', 'decisions', '--partitions', '0', '--no-write'], { encoding: 'utf8' });
  assert.equal(parts.status, 2, parts.stderr);
  assert.match(parts.stderr, /--partitions: got 0 \(allowed: an integer ≥ 1\)/);
});

test('config: a YAML file is read like JSON, and a YAML error names the file', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'nudge.yaml');
    writeFileSync(file, 'kafka:\n  brokers: [10.0.0.5:9092, 10.0.0.6:9092]\n  groupId: prod\nstate:\n  backend: rocksdb\n');
    const c = loadConfig({ file });
    assert.deepEqual(c.kafka.brokers, ['10.0.0.5:9092', '10.0.0.6:9092']);
    assert.equal(c.state.backend, 'rocksdb');
    writeFileSync(file, 'kafka:\n  brokers: [\n');
    const e = configError(() => loadConfig({ file }));
    assert.equal(e.key, '--config');
    assert.match(e.message, /not valid YAML/);
    writeFileSync(file, 'state:\n  backend: leveldb\n');
    assert.equal(configError(() => loadConfig({ file })).key, 'state.backend');
  } finally {
    cleanup();
  }
});

test('cli: input files and topics: standard input is read, a missing file or unknown topic exits 2 naming it, and nothing is written', () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const { dir, cleanup } = tempDir();
  try {
    const state = ['--state-dir', join(dir, 'state')];
    const line = `${JSON.stringify({ userId: 'u1', ts: '2026-11-20T10:00:00Z', type: 'view' })}\n`;
    const piped = spawnSync(process.execPath, [cli, 'produce', 'events', '-', ...state], { input: line + line, encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    assert.match(piped.stdout, /^2 records → nudge\.events$/m);
    const full = spawnSync(process.execPath, [cli, 'produce', 'nudge.events', '-', ...state], { input: line, encoding: 'utf8' });
    assert.equal(full.status, 0, full.stderr);
    // A mistyped role would have been a topic of its own that nothing reads.
    const typo = spawnSync(process.execPath, [cli, 'produce', 'event', '-', ...state], { input: line, encoding: 'utf8' });
    assert.equal(typo.status, 2, typo.stderr);
    assert.match(typo.stderr, /topic: unknown topic "event" \(allowed: events, profiles, candidates, receipts, campaigns/);
    const missing = spawnSync(process.execPath, [cli, 'produce', 'events', join(dir, 'nope.jsonl'), ...state], { encoding: 'utf8' });
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /file: cannot read .*nope\.jsonl: no such file/);
    const input = spawnSync(process.execPath, [cli, 'run', '--http-port', '0', '--input', `events=${join(dir, 'nope.jsonl')}`, ...state], { encoding: 'utf8' });
    assert.equal(input.status, 2, input.stderr);
    assert.match(input.stderr, /--input: cannot read .*nope\.jsonl: no such file/);
    const inputTopic = spawnSync(process.execPath, [cli, 'run', '--http-port', '0', '--input', `evnts=${join(dir, 'nope.jsonl')}`, ...state], { encoding: 'utf8' });
    assert.equal(inputTopic.status, 2, inputTopic.stderr);
    assert.match(inputTopic.stderr, /--input: unknown topic "evnts"/);
    const train = spawnSync(process.execPath, [cli, 'train', '--decisions', join(dir, 'd.jsonl'), '--events', join(dir, 'e.jsonl'), '--registry', join(dir, 'r')], { encoding: 'utf8' });
    assert.equal(train.status, 2, train.stderr);
    assert.match(train.stderr, /--decisions: cannot read .*d\.jsonl \(allowed: a JSON-lines decision log\)/);
    const evaluate = spawnSync(process.execPath, [cli, 'eval', '--model', join(dir, 'm'), '--decisions', join(dir, 'd.jsonl'), '--events', join(dir, 'e.jsonl')], { encoding: 'utf8' });
    assert.equal(evaluate.status, 2, evaluate.stderr);
    assert.match(evaluate.stderr, /--model: cannot read/);
  } finally {
    cleanup();
  }
});

test('cli: nudge demo refuses a --seed that is not an integer and a --report given twice, before running', () => {
  const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'main.js');
  const seed = spawnSync(process.execPath, [cli, 'demo', '--users', '10', '--seed', 'abc'], { encoding: 'utf8' });
  assert.equal(seed.status, 2, seed.stderr);
  assert.match(seed.stderr, /--seed: got NaN \(allowed: an integer\)/);
  const report = spawnSync(process.execPath, [cli, 'demo', '--users', '10', '--report', 'a.html', '--report', 'b.html'], { encoding: 'utf8' });
  assert.equal(report.status, 2, report.stderr);
  assert.match(report.stderr, /--report: got \["a.html","b.html"\] \(allowed: one file path\)/);
});

test('config: a secret written inline in a config file is refused, naming it; a reference to the environment or a file is taken', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'nudge.json');
    const inline: Array<[string, Record<string, unknown>]> = [
      ['http.token', { http: { token: 's3cret' } }],
      ['kafka.sasl.password', { kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'pw' } } }],
      ['delivery.capacitySignal.token', { delivery: { capacitySignal: { url: 'http://127.0.0.1:1/c', token: 'cap' } } }],
    ];
    for (const [key, object] of inline) {
      writeFileSync(file, JSON.stringify(object));
      const e = configError(() => loadConfig({ file }));
      assert.equal(e.key, key);
      assert.match(e.message, /inline/);
      assert.ok(!e.message.includes('s3cret') && !e.message.includes('"pw"'), 'the secret is not repeated');
    }
    writeFileSync(file, JSON.stringify({ http: { token: { env: 'NUDGE_TEST_TOKEN' } }, kafka: { sasl: { mechanism: 'plain', username: 'u', password: { file: join(dir, 'pw') } } } }));
    const c = loadConfig({ file });
    assert.deepEqual(c.http.token, { env: 'NUDGE_TEST_TOKEN' });
  } finally {
    cleanup();
  }
});

test('config: the model chunk size defaults to the one measured for the scorer (models/BATCH-SIZE.md)', async () => {
  const { DEFAULT_CHUNK_ROWS } = await import('../models/tfjs-scorer.js');
  assert.equal(validateConfig({}).models.chunkRows, DEFAULT_CHUNK_ROWS);
});
