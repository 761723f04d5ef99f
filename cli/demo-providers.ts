import { Agent } from 'undici';
import type { Clock } from '../processor/clock.js';
import type { EffectHandler } from '../processor/effects.js';
import type { ProcessorMetrics } from '../processor/metrics.js';
import { createProviderAdapter, type ProviderConfig } from '../operators/sinks/providers/index.js';
import { ProviderSink } from '../operators/sinks/provider-sink.js';
import { realTimers, type Timers } from '../operators/sinks/resilience/timers.js';
import { Router } from '../operators/sinks/routing.js';
import { startFakeProviders, type FakeProviderKeys } from '../bench/fakes/index.js';

/** Connections to each provider fake (see startDemoProviders). */
const CONNECTIONS_PER_FAKE = 64;

export interface DemoProviders {
  handlers: EffectHandler[];
  close(): Promise<void>;
}

/**
 * The demo's sends go over HTTP to the provider fakes on loopback (bench/fakes), through the
 * same sink, router and adapters as a replica with real providers: Gupshup for India's SMS
 * with Twilio behind it, Twilio elsewhere, FCM for push. The fakes read the virtual clock, so
 * the tokens they sign and check expire in simulated time.
 */
export async function startDemoProviders(clock: Clock, metrics: ProcessorMetrics, concurrency: number, keys?: FakeProviderKeys): Promise<DemoProviders> {
  const now = () => clock.now();
  const fakes = await startFakeProviders({ now, ...(keys !== undefined ? { keys } : {}) });
  // Few connections per fake, not one per send in flight: the fakes serve on the replica's own
  // thread, and a thread that is busy deciding accepts about one new connection per turn of its
  // event loop. Opening 512 at the first sends took longer than the adapters' 10 s headers
  // timeout, and the demo dropped a tenth of its SMS (the breakers opened on the timeouts).
  // Sends beyond these wait in undici's queue, where no timeout runs.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: Math.min(concurrency, CONNECTIONS_PER_FAKE), pipelining: 1 });
  const adapter = (config: ProviderConfig, name: string) => createProviderAdapter({ ...config, name } as ProviderConfig, { now, dispatcher: agent });
  const gupshup = adapter(fakes.configs.gupshup, 'gupshup-in');
  const twilio = adapter(fakes.configs.twilio, 'twilio');
  // FCM delivers to iOS devices too (APNs behind it), so one push route serves every simulated phone.
  const fcm = adapter({ ...fakes.configs.fcm, platforms: ['fcm', 'apns', 'web'] } as ProviderConfig, 'fcm');
  // Contracted rates and bursts far above the demo's send rate: the campaigns' own pacing is what
  // shapes it. (The buckets refill in simulated time, which stands still within a step.)
  const rate = 100_000;
  const burst = 1_000_000;
  // Attempts are stamped in simulated time, as the sends are; a retry still waits real milliseconds.
  const timers: Timers = { now, setTimeout: realTimers.setTimeout };
  const router = new Router({
    timers,
    routes: [
      { country: 'IN', channel: 'sms', providers: [{ adapter: gupshup, pricePerSegment: 0.12, ratePerSec: rate, burst }, { adapter: twilio, pricePerSegment: 0.5, ratePerSec: rate, burst }] },
      { country: '*', channel: 'sms', providers: [{ adapter: twilio, pricePerSegment: 0.5, ratePerSec: rate, burst }] },
      { country: '*', channel: 'push', providers: [{ adapter: fcm, pricePerSegment: 0.0001, ratePerSec: rate, burst }] },
    ],
  });
  return {
    handlers: [new ProviderSink(router, clock, metrics)],
    close: async () => {
      await Promise.all([gupshup, twilio, fcm].map((a) => a.close?.()));
      await agent.close();
      await fakes.close();
    },
  };
}
