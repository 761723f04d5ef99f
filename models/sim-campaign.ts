/**
 * The daily promotional campaigns the simulated decision log is made of: a few per day, each
 * offered to part of the population at 09:00 IST, sendable from 10:00 IST for 16 hours (so
 * users in the Americas get their daytime too), on the better of push and SMS.
 */
import type { Campaign } from '../processor/messages/index.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
// India promotional SMS needs DLT registration fields (TRAI TCCCPR), or it is skipped.
const DLT = { senderId: 'SHPPLS-P', dltEntityId: '1101000000000000001', dltTemplateId: '1107000000000000001' };
// A few business categories in turn: users' interest differs by category (bench/sim), which
// nudge cannot see; rotating them keeps that unseen variation in the data, as in real use.
const CATEGORIES = [5, 2, 7, 1] as const;
/** Decision time, after a day's UTC midnight: 09:00 IST. */
export const DECIDE_OFFSET_MS = 3 * HOUR + 30 * MINUTE;

/**
 * Campaign `index` of day `day` (0-based) starting at `dayStart` (UTC midnight), `perDay` a
 * day. The experiment is the logging policy's exploration: `explore` of the users (a fresh
 * draw per day, the same for all of the day's campaigns, so a user-day is one unit) get the
 * 'blast' arm, sent at the first allowed instant without the model; the rest get 'model'.
 * `arms` replaces that split (the counterfactual run of a candidate policy).
 */
export function simCampaign(day: number, index: number, perDay: number, dayStart: number, explore: number, arms?: Record<string, number>): Campaign {
  const decideAt = dayStart + DECIDE_OFFSET_MS;
  const weights = arms ?? { model: 1 - explore, blast: explore };
  return {
    campaignId: `promo-${day}-${index}`,
    kind: 'promotional',
    category: CATEGORIES[(day * perDay + index) % CATEGORIES.length] as number,
    channels: ['best'],
    deadline: 'soft',
    window: { start: decideAt + HOUR, end: decideAt + 17 * HOUR },
    value: 2000,
    templates: {
      en: {
        sms: { body: '{{name}}, new offers picked for you. Shop: https://shp.pl/o Reply STOP to opt out', ...DLT },
        push: { title: 'Picked for you', body: 'New offers in your favourite section' },
      },
    },
    experiment: { id: `explore-${day}`, arms: Object.entries(weights).filter(([, w]) => w > 0).map(([name, weight]) => ({ name, weight })) },
  } as Campaign;
}
