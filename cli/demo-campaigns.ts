import type { CampaignInput } from '../processor/messages/index.js';

const DLT = { senderId: 'SHPPLS', dltEntityId: '1101000000000000001', dltTemplateId: '1107000000000000001' };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The demo's three campaigns, relative to the start of the simulated day (09:00 IST). */
export function demoCampaigns(start: number, users: number): CampaignInput[] {
  return [
    {
      campaignId: 'otp-login',
      kind: 'transactional',
      channels: ['sms'],
      deadline: 'hard',
      window: { start, end: start + 10 * MINUTE },
      value: 0,
      templates: {
        en: { sms: { body: '{{otp}} is your Shopplus login code. Do not share it.', ...DLT, senderId: 'SHPPLS-T' } },
        hi: { sms: { body: '{{otp}} आपका Shopplus लॉगिन कोड है। इसे किसी से साझा न करें।', ...DLT, senderId: 'SHPPLS-T' } },
      },
    },
    {
      campaignId: 'flash-sale',
      kind: 'promotional',
      category: 5,
      priority: 60,
      channels: ['push', 'sms'],
      deadline: 'soft',
      // Two hours in the evening, when most of the audience is on their phones.
      window: { start: start + 9 * HOUR, end: start + 11 * HOUR },
      value: 2500,
      maxPerSecond: 20,
      budget: { maxSends: Math.ceil(users * 0.5), maxCost: users * 0.05 },
      templates: {
        en: {
          sms: { body: '{{name}}, 40% off {{product}} till 8pm. Shop: https://shp.pl/s Reply STOP to opt out', ...DLT, senderId: 'SHPPLS-P' },
          push: { title: 'Flash sale: 40% off', body: '{{product}} at 40% off for two hours only', deepLink: 'shopplus://sale/flash' },
        },
        hi: {
          sms: { body: '{{name}}, {{product}} पर 40% छूट, रात 8 बजे तक। STOP भेजें', ...DLT, senderId: 'SHPPLS-P' },
          push: { title: 'फ़्लैश सेल: 40% छूट', body: '{{product}} पर सिर्फ़ दो घंटे 40% छूट', deepLink: 'shopplus://sale/flash' },
        },
      },
      experiment: { id: 'flash-arms', arms: [{ name: 'model', weight: 0.9 }, { name: 'blast', weight: 0.1 }] },
    },
    {
      campaignId: 'cart-reminder',
      kind: 'reminder',
      category: 5,
      priority: 40,
      channels: ['best'],
      deadline: 'soft',
      window: { start, end: start + 12 * HOUR },
      value: 1500,
      templates: {
        en: {
          sms: { body: '{{name}}, your {{product}} is still in your cart. Reply STOP to opt out', ...DLT, senderId: 'SHPPLS-P' },
          push: { title: 'Still thinking?', body: 'Your {{product}} is waiting in your cart' },
        },
      },
    },
  ];
}
