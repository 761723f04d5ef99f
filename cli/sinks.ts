import { Agent } from 'undici';
import type { NudgeConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { ConfigError } from '../errors/index.js';
import type { Clock } from '../processor/clock.js';
import type { EffectHandler } from '../processor/effects.js';
import type { ProcessorMetrics } from '../processor/metrics.js';
import { createProviderAdapter, type ProviderAdapter, type ProviderConfig } from '../operators/sinks/providers/index.js';
import { ProviderSink } from '../operators/sinks/provider-sink.js';
import { RecordingSink } from '../operators/sinks/recording-sink.js';
import { realTimers } from '../operators/sinks/resilience/timers.js';
import { Router, type RouteTable } from '../operators/sinks/routing.js';
import { CampaignThrottle } from '../operators/sinks/resilience/campaign-throttle.js';
import { CapacitySignal } from '../operators/sinks/capacity-signal.js';
import { createLogger, type Logger } from '../processor/logger.js';

/** Settings each provider type cannot work without (messaging.md): named in the error when missing. */
const REQUIRED: Record<string, string[]> = {
  twilio: ['accountSid', 'authToken'],
  gupshup: ['userid', 'password'],
  msg91: ['authkey'],
  fcm: ['projectId', 'serviceAccount'],
  apns: ['topic', 'keyId', 'teamId', 'privateKey'],
};

/** Credentials and keys: resolved from the environment or files, never taken inline from a file. */
const SECRET = new Set(['authToken', 'password', 'authkey', 'serviceAccount', 'privateKey']);

export interface Sinks {
  handlers: EffectHandler[];
  /** Per-campaign rates (config and the capacity signal); call `reshare()` after a rebalance. */
  throttle?: CampaignThrottle;
  close(): Promise<void>;
}

export interface SinkOptions {
  /** This replica's share of the partitions, for per-campaign rates set for the whole deployment. */
  share?: () => number;
  log?: Logger;
}

/** The sinks of a replica: providers from `delivery`, or the recording sink when no route is configured. */
export function buildSinks(config: NudgeConfig, clock: Clock, metrics: ProcessorMetrics, env: NodeJS.ProcessEnv = process.env, opts: SinkOptions = {}): Sinks {
  const { providers, routes } = config.delivery;
  if (routes.length === 0) return { handlers: [new RecordingSink(clock)], close: async () => undefined };
  // One keep-alive pool for every HTTP/1.1 provider: connection reuse is most of the send path's cost.
  // As many connections per origin as sends may be in flight: more calls than sockets only queue inside undici.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: config.processor.effectsConcurrency, pipelining: 1 });
  const adapters = new Map<string, ProviderAdapter>();
  providers.forEach((p, i) => {
    const key = `delivery.providers[${i}]`;
    if (adapters.has(p.name)) throw new ConfigError(`${key}.name`, `"${p.name}" is used twice`, 'unique provider names');
    const settings: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(p.settings)) {
      if (SECRET.has(name)) {
        // A config file may be committed or logged: credentials in it are references only.
        if (typeof value !== 'object' || value === null) throw new ConfigError(`${key}.settings.${name}`, 'a credential is written inline', '{"env":"NAME"} or {"file":"/path"}');
        const resolved = resolveSecret(`${key}.settings.${name}`, value as { env: string } | { file: string }, env) as string;
        settings[name] = name === 'serviceAccount' ? parseJson(`${key}.settings.${name}`, resolved) : resolved;
      } else settings[name] = value;
    }
    for (const required of REQUIRED[p.type] ?? []) {
      if (settings[required] === undefined) throw new ConfigError(`${key}.settings.${required}`, `missing for a ${p.type} provider`, `the ${required} of the ${p.type} account`);
    }
    const adapterConfig = { ...settings, type: p.type, name: p.name, ...(p.baseUrl !== undefined ? { baseUrl: p.baseUrl } : {}), ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}) } as ProviderConfig;
    adapters.set(p.name, createProviderAdapter(adapterConfig, { now: () => clock.now(), dispatcher: agent }));
  });
  const tables: RouteTable[] = routes.map((r, i) => ({
    country: r.country,
    channel: r.channel,
    providers: r.providers.map((rp, j) => {
      const adapter = adapters.get(rp.name);
      if (adapter === undefined) throw new ConfigError(`delivery.routes[${i}].providers[${j}].name`, `no provider named "${rp.name}"`, [...adapters.keys()].join(', ') || 'a name from delivery.providers');
      return { adapter, pricePerSegment: rp.pricePerSegment, ratePerSec: rp.ratePerSec, ...(rp.adaptiveMinRate !== undefined ? { adaptive: { minRate: rp.adaptiveMinRate } } : {}) };
    }),
  }));
  const router = new Router({ routes: tables, timers: realTimers });
  const { campaignRates, capacitySignal } = config.delivery;
  const limited = Object.keys(campaignRates).length > 0 || capacitySignal !== undefined;
  const throttle = limited ? new CampaignThrottle({ timers: realTimers, rates: campaignRates, ...(opts.share !== undefined ? { share: opts.share } : {}) }) : undefined;
  let signal: CapacitySignal | undefined;
  if (throttle !== undefined && capacitySignal !== undefined) {
    const token = resolveSecret('delivery.capacitySignal.token', capacitySignal.token, env);
    signal = new CapacitySignal({
      url: capacitySignal.url,
      token,
      intervalMs: capacitySignal.intervalMs,
      timeoutMs: capacitySignal.timeoutMs,
      throttle,
      configured: campaignRates,
      timers: realTimers,
      log: (opts.log ?? createLogger('warn')).child({ component: 'capacity-signal' }),
      dispatcher: agent,
    });
    signal.start();
  }
  return {
    handlers: [new ProviderSink(router, clock, metrics, throttle)],
    ...(throttle !== undefined ? { throttle } : {}),
    close: async () => {
      signal?.stop();
      await Promise.all([...adapters.values()].map((a) => a.close?.()));
      await agent.close();
    },
  };
}

function parseJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(key, 'is not JSON', 'a service-account JSON key');
  }
}
