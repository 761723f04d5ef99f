import { validateConfig } from '../../config/load.js';
import type { NudgeConfig } from '../../config/schema.js';
import type { Campaign } from '../../processor/messages/index.js';
import { TopologyTestDriver } from '../../processor/test-driver.js';
import type { Scorer } from '../../operators/decisions/scorer.js';
import { HeuristicScorer } from '../../operators/decisions/heuristic-scorer.js';
import { decisionTopology } from '../../operators/decisions/topology.js';
import { RecordingSink } from '../../operators/sinks/recording-sink.js';
import type { DecisionRecord } from '../../operators/decisions/decision-record.js';
import type { SendRecord } from '../../operators/sinks/dispatcher.js';

/** 2026-11-23, a Monday, 00:00 UTC = 05:30 IST. */
export const MONDAY = Date.UTC(2026, 10, 23, 0, 0);
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

export function policyConfig(overrides: Record<string, unknown> = {}): NudgeConfig {
  return validateConfig({ policy: { controlGroupPercent: 0, ...overrides } });
}

export async function decisionDriver(opts: { partitions?: number; start?: number; policy?: Record<string, unknown>; scorer?: () => Scorer } = {}): Promise<TopologyTestDriver> {
  const config = policyConfig(opts.policy);
  return TopologyTestDriver.create({
    topology: () => decisionTopology(config, opts.scorer?.() ?? new HeuristicScorer()),
    effects: (clock) => [new RecordingSink(clock)],
    partitions: opts.partitions ?? 2,
    startTime: opts.start ?? MONDAY,
    config: { policy: config.policy },
  });
}

export function indiaUser(userId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    userId,
    country: 'IN',
    timezone: 'Asia/Kolkata',
    language: 'en',
    phone: '+919800000042',
    consent: { sms: { promotional: true, service: true, transactional: true, reminder: true }, push: { promotional: true, service: true, transactional: true, reminder: true } },
    ncpr: { fullyBlocked: false, allowedCategories: [1, 5] },
    pushTokens: [{ platform: 'fcm', token: `tok-${userId}` }],
    quietHours: { start: '22:00', end: '08:00' },
    value: 1200,
    name: 'Asha',
    ...extra,
  };
}

/** A week of habitual evening activity (19:00–21:00 IST) with a purchase: a user worth messaging. */
export async function activate(driver: TopologyTestDriver, userId: string): Promise<void> {
  const now = driver.clock.now();
  for (let day = 7; day >= 1; day--) {
    const evening = now - day * 86_400_000 + 14 * HOUR;
    await driver.pipe('events', userId, { userId, ts: evening, type: 'app_open' });
    await driver.pipe('events', userId, { userId, ts: evening + 10 * MINUTE, type: 'view' });
  }
  await driver.pipe('events', userId, { userId, ts: now - 2 * 86_400_000, type: 'purchase', value: 999 });
}

export function campaign(id: string, extra: Partial<Campaign> = {}): Campaign {
  return {
    campaignId: id,
    kind: 'promotional',
    category: 5,
    priority: 50,
    channels: ['sms'],
    window: { start: MONDAY, end: MONDAY + 12 * HOUR },
    deadline: 'soft',
    // A conversion worth ₹3,000 of margin: with SMS conversion rates near 0.1%, less does not pay for the risk of an opt-out.
    value: 3000,
    templates: {
      en: {
        sms: { body: '{{name}}, 40% off {{product}} till midnight', senderId: 'SHPPLS-P', dltEntityId: '1101000000000', dltTemplateId: '1107000000000' },
        push: { title: 'Flash sale', body: '40% off {{product}}' },
      },
    },
    ...extra,
  } as Campaign;
}

export function decisions(driver: TopologyTestDriver): DecisionRecord[] {
  return driver.readOutputs('decisions').map((o) => o.value as DecisionRecord);
}

export function sends(driver: TopologyTestDriver): SendRecord[] {
  return driver.readOutputs('sends').map((o) => o.value as SendRecord);
}
