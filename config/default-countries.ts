import type { CountryRules } from './rules-schema.js';

const EVERY_DAY = [1, 2, 3, 4, 5, 6, 7];

/** Keywords users text to opt out, in and ask for help (regulations: CTIA, Brazil). Matched case-insensitively, whole message. */
const STOP = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPT OUT', 'OPTOUT', 'PARE', 'SAIR'];
const START = ['START', 'YES', 'UNSTOP'];
const HELP = ['HELP', 'INFO', 'AJUDA'];

/**
 * Shipped defaults: the stricter value where sources disagree (notes/regulations.md).
 * A deployment overrides any country, or adds one, under `countries` in its config.
 */
export const DEFAULT_COUNTRIES: Record<string, CountryRules> = {
  IN: {
    timezone: 'Asia/Kolkata',
    // Promotional SMS only 10:00–21:00 IST: TRAI TCCCPR 2018 (operator scrubbing blocks 21:00–10:00).
    legalHours: [{ channels: ['sms'], kinds: ['promotional', 'reminder'], windows: [{ days: EVERY_DAY, start: '10:00', end: '21:00' }], source: 'TRAI TCCCPR 2018' }],
    requireDlt: true,
    ncpr: true,
    stopKeywords: STOP,
    startKeywords: START,
    helpKeywords: HELP,
  },
  US: {
    timezone: 'America/New_York',
    // Marketing 08:00–21:00 recipient local time: TCPA.
    legalHours: [{ channels: ['sms'], kinds: ['promotional', 'reminder'], windows: [{ days: EVERY_DAY, start: '08:00', end: '21:00' }], source: 'TCPA' }],
    requireDlt: false,
    ncpr: false,
    stopKeywords: STOP,
    startKeywords: START,
    helpKeywords: HELP,
  },
  BR: {
    timezone: 'America/Sao_Paulo',
    // The stricter published window: Mon–Fri 08:00–18:00, Sat 09:00–13:00, no Sundays.
    legalHours: [
      {
        channels: ['sms'],
        kinds: ['promotional', 'reminder'],
        windows: [
          { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' },
          { days: [6], start: '09:00', end: '13:00' },
        ],
        source: 'Brazil opt-in rules (stricter published window)',
      },
    ],
    requireDlt: false,
    ncpr: false,
    stopKeywords: STOP,
    startKeywords: START,
    helpKeywords: HELP,
  },
  ID: {
    timezone: 'Asia/Jakarta',
    legalHours: [{ channels: ['sms'], kinds: ['promotional', 'reminder'], windows: [{ days: EVERY_DAY, start: '08:00', end: '21:00' }], source: 'default courtesy hours' }],
    requireDlt: false,
    ncpr: false,
    stopKeywords: STOP,
    startKeywords: START,
    helpKeywords: HELP,
  },
  GB: {
    timezone: 'Europe/London',
    legalHours: [{ channels: ['sms'], kinds: ['promotional', 'reminder'], windows: [{ days: EVERY_DAY, start: '08:00', end: '21:00' }], source: 'default courtesy hours' }],
    requireDlt: false,
    ncpr: false,
    stopKeywords: STOP,
    startKeywords: START,
    helpKeywords: HELP,
  },
  /** Any country without rules of its own. */
  default: {
    legalHours: [
      { channels: ['sms'], kinds: ['promotional', 'reminder'], windows: [{ days: EVERY_DAY, start: '08:00', end: '21:00' }], source: 'default courtesy hours' },
      { channels: ['push'], kinds: ['promotional', 'reminder'], windows: [{ days: EVERY_DAY, start: '08:00', end: '22:00' }], source: 'default push courtesy hours' },
    ],
    requireDlt: false,
    ncpr: false,
    stopKeywords: STOP,
    startKeywords: START,
    helpKeywords: HELP,
  },
};
