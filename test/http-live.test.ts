import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LiveEvent } from '../http/replica-api.js';
import { auth, liveClient, startTestServer, TEST_TOKEN, type TestServer } from './support/http-client.js';
import { RawWsClient } from './support/http-ws-raw.js';
import { waitFor } from './support/wait.js';

const decision = (i: number): LiveEvent => ({ type: 'decision', ts: Date.now(), campaignId: 'c7', action: i % 2 === 0 ? 'send' : 'skip', reasons: i % 2 === 0 ? [] : ['quiet_hours'], channel: 'sms' });

describe('GET /v1/live (WebSocket)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('with the bearer header: a stats snapshot on open, then the replica\'s events in order', async () => {
    const c = liveClient(`ws://127.0.0.1:${s.port}/v1/live`, auth());
    await c.opened;
    const first = await waitFor(() => c.messages[0], 'the opening snapshot', 5_000);
    assert.equal((first as LiveEvent).type, 'stats');
    assert.deepEqual((first as Extract<LiveEvent, { type: 'stats' }>).snapshot.partitions, s.api.snap.partitions);
    assert.equal(s.api.subscribers, 1);

    s.api.emit(decision(0));
    s.api.emit({ type: 'send', ts: Date.now(), campaignId: 'c7', provider: 'gupshup-in', status: 'sent', channel: 'sms' });
    s.api.emit(decision(1));
    const events = await waitFor(() => {
      const e = c.messages.filter((m) => (m as LiveEvent).type !== 'stats') as LiveEvent[];
      return e.length >= 3 ? e : undefined;
    }, 'three events', 5_000);
    assert.deepEqual(events.map((e) => e.type), ['decision', 'send', 'decision']);
    assert.equal((events[1] as Extract<LiveEvent, { type: 'send' }>).provider, 'gupshup-in');

    // And a fresh snapshot every second, reflecting what the replica reports now.
    s.api.snap = { ...s.api.snap, decisionsPerSecond: { send: 999 } };
    const later = await waitFor(() => c.messages.find((m) => (m as LiveEvent).type === 'stats' && (m as Extract<LiveEvent, { type: 'stats' }>).snapshot.decisionsPerSecond['send'] === 999), 'a later snapshot', 3_000);
    assert.ok(later);
    c.close();
    await c.closed;
    await waitFor(() => s.api.subscribers === 0, 'unsubscribe after the last socket closed', 3_000);
  });

  test('with ?token= (what a browser can do); two sockets share one subscription', async () => {
    const a = liveClient(`ws://127.0.0.1:${s.port}/v1/live?token=${encodeURIComponent(TEST_TOKEN)}`);
    const b = liveClient(`ws://127.0.0.1:${s.port}/v1/live`, auth());
    await Promise.all([a.opened, b.opened]);
    assert.equal(s.api.subscribers, 1);
    s.api.emit(decision(2));
    for (const c of [a, b]) await waitFor(() => c.messages.some((m) => (m as LiveEvent).type === 'decision'), 'the event on both sockets', 3_000);
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  });

  test('a snapshot that throws skips that frame; events still flow', async () => {
    const c = liveClient(`ws://127.0.0.1:${s.port}/v1/live`, auth());
    s.api.failWith.snapshot = new Error('snapshot broke');
    try {
      await c.opened;
      s.api.emit(decision(3));
      await waitFor(() => c.messages.some((m) => (m as LiveEvent).type === 'decision'), 'an event', 3_000);
    } finally {
      s.api.failWith.snapshot = undefined;
      c.close();
      await c.closed;
    }
  });

  test('a reader that stops reading loses events, never makes the server buffer them all; stats resume', async () => {
    const raw = await RawWsClient.open(s.port, '/v1/live', { Authorization: `Bearer ${TEST_TOKEN}` });
    await waitFor(() => raw.texts.length >= 1, 'the opening snapshot', 3_000);
    raw.pause();
    const pad = 'p'.repeat(2_000);
    const emitted = 20_000;
    // ~40 MB of events at a socket that reads nothing: far more than kernel buffers hold.
    for (let i = 0; i < emitted; i++) s.api.emit({ type: 'decision', ts: i, campaignId: pad, action: 'send', reasons: [], channel: 'sms' });
    // Let a stats tick happen while it is backed up; it must be held, coalesced, not queued.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await fetch(`${s.base}/healthz`)).status, 200, 'the server is responsive meanwhile');
    const before = raw.texts.length;
    raw.resume();
    await waitFor(() => raw.texts.slice(before).some((t) => t.startsWith('{"type":"stats"')), 'a stats frame after the reader resumed', 5_000);
    const decisions = raw.texts.filter((t) => t.startsWith('{"type":"decision"')).length;
    assert.ok(decisions < emitted / 2, `most events were dropped for the slow reader (got ${decisions} of ${emitted})`);
    assert.ok(decisions > 0);
    raw.close();
  });

  test('closing the server ends live sockets with 1001', async () => {
    const s2 = await startTestServer();
    const c = liveClient(`ws://127.0.0.1:${s2.port}/v1/live`, auth());
    await c.opened;
    s2.close();
    assert.equal(await c.closed, 1001);
    assert.equal(s2.api.subscribers, 0);
  });
});
