import { validateConfig } from '../config/load.js';
import { DecisionEngine } from '../operators/decisions/decide.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import type { UserState } from '../operators/decisions/types.js';
import { applyProfile, newUserState } from '../operators/decisions/user-state.js';
import { hydrate } from '../operators/delivery/template.js';
import { smsEncoding } from '../operators/delivery/sms-encoding.js';
import type { Campaign } from '../processor/messages/index.js';
import { throwIfAborted } from './measure.js';

/**
 * Part (b) of the send-path scenario: the CPU cost of turning a decision into a message,
 * `DecisionEngine.buildIntent` (template choice, hydration, GSM-7 / UCS-2 detection, segment
 * count, cost), per message, next to a bare `String.replace` of the same template in the same run.
 */

export interface EncodingCase {
  name: string;
  language: string;
  template: string;
  /** One hydrated body, as sent. */
  example: string;
  encoding: 'GSM-7' | 'UCS-2';
  units: number;
  segments: number;
  /** Median over the rounds, nanoseconds per message. */
  nsPerOp: { buildIntent: number; reference: number; hydrate: number; smsEncoding: number };
  /** Fastest and slowest round of each, to show the spread the median hides. */
  range: { buildIntent: [number, number]; reference: [number, number] };
  /** buildIntent ÷ reference (medians). */
  ratio: number;
  /** Iterations per timed round of each function (calibrated to about `targetRoundMs`). */
  iterations: { buildIntent: number; reference: number; hydrate: number; smsEncoding: number };
}

export interface EncodingResult {
  rounds: number;
  targetRoundMs: number;
  cases: EncodingCase[];
  /** Folded results of every call, printed so that no call can be optimised away. */
  checksum: number;
}

const VARIANTS = 64;
const EN_NAMES = ['Asha', 'Ravi', 'Priya', 'Arjun', 'Meera', 'Vikram', 'Anjali', 'Rahul'];
const HI_NAMES = ['आशा', 'रवि', 'प्रिया', 'अर्जुन', 'मीरा', 'विक्रम', 'अंजलि', 'राहुल'];
const EN_PRODUCTS = ['running shoes', 'headphones', 'kurta', 'smartwatch', 'saree', 'backpack', 'sunglasses', 'water bottle'];
const HI_PRODUCTS = ['जूते', 'हेडफ़ोन', 'कुर्ता', 'स्मार्टवॉच', 'साड़ी', 'बैकपैक', 'धूप का चश्मा', 'पानी की बोतल'];

/** The tests' English template (GSM-7, one segment) and a Hindi one of a typical promotional length (UCS-2, past 70 units: two segments). */
const TEMPLATES = {
  en: '{{name}}, 40% off {{product}} till midnight',
  hi: '{{name}} जी, {{product}} पर 40% की छूट सिर्फ़ आज रात 12 बजे तक। अभी खरीदें, स्टॉक सीमित है!',
};

function campaignFor(now: number): Campaign {
  const dlt = { senderId: 'SHPPLS-P', dltEntityId: '1101000000000', dltTemplateId: '1107000000000' };
  return {
    campaignId: 'bench-encoding',
    kind: 'promotional',
    category: 5,
    priority: 50,
    channels: ['sms'],
    window: { start: now, end: now + 12 * 3_600_000 },
    deadline: 'soft',
    value: 3000,
    templates: { en: { sms: { body: TEMPLATES.en, ...dlt } }, hi: { sms: { body: TEMPLATES.hi, ...dlt } } },
  };
}

function usersFor(language: 'en' | 'hi', now: number): UserState[] {
  const names = language === 'en' ? EN_NAMES : HI_NAMES;
  return Array.from({ length: VARIANTS }, (_, i) => {
    const state = newUserState(now);
    applyProfile(state, {
      userId: `user-${i}`,
      country: 'IN',
      timezone: 'Asia/Kolkata',
      language,
      phone: `+91${9_800_000_000 + i}`,
      consent: { sms: { promotional: true } },
      name: names[i % names.length] as string,
    });
    return state;
  });
}

/** ns per call of `fn` over `n` calls; the results are folded into the returned checksum. */
function timeLoop(fn: (i: number) => number, n: number): { ns: number; acc: number } {
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) acc += fn(i);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  return { ns, acc };
}

/** Iterations that take about `targetMs`, from a timed trial after a warm-up (so the trial runs optimised code). */
function calibrate(fn: (i: number) => number, targetMs: number): number {
  timeLoop(fn, 20_000);
  const trial = timeLoop(fn, 20_000);
  return Math.max(10_000, Math.ceil((targetMs * 1e6) / Math.max(1, trial.ns)));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function runEncodingBench(opts: { rounds: number; targetRoundMs: number; signal?: AbortSignal; log?: (s: string) => void }): EncodingResult {
  const log = opts.log ?? (() => undefined);
  const now = Date.now();
  const config = validateConfig({});
  const engine = new DecisionEngine(config.policy, new HeuristicScorer());
  const campaign = campaignFor(now);
  const sendIds = Array.from({ length: 1024 }, (_, i) => `send-${i.toString(36)}-1`);
  const decisionIds = Array.from({ length: 1024 }, (_, i) => `dec-${i.toString(36)}`);
  let checksum = 0;
  const cases: EncodingCase[] = [];
  for (const language of ['en', 'hi'] as const) {
    throwIfAborted(opts.signal);
    const users = usersFor(language, now);
    const names = language === 'en' ? EN_NAMES : HI_NAMES;
    const products = language === 'en' ? EN_PRODUCTS : HI_PRODUCTS;
    const vars = Array.from({ length: VARIANTS }, (_, i) => ({ product: products[(i * 3) % products.length] as string }));
    const template = TEMPLATES[language];
    const bodies = vars.map((v, k) => hydrate(template, { name: names[k % names.length], product: v.product }));
    const fns = {
      buildIntent: (i: number) => {
        const k = i & (VARIANTS - 1);
        const intent = engine.buildIntent({ sendId: sendIds[i & 1023] as string, decisionId: decisionIds[i & 1023] as string, userId: `user-${k}`, campaign, channel: 'sms', user: users[k] as UserState, vars: vars[k] as { product: string } });
        return intent.segments + (intent.sms?.body.length ?? 0);
      },
      // The same substitution with nothing around it: two literal replaces.
      reference: (i: number) => {
        const k = i & (VARIANTS - 1);
        return template.replace('{{name}}', names[k % names.length] as string).replace('{{product}}', (vars[k] as { product: string }).product).length;
      },
      // The two halves of buildIntent's own work, for where the time goes.
      hydrate: (i: number) => {
        const k = i & (VARIANTS - 1);
        return hydrate(template, { name: names[k % names.length], product: (vars[k] as { product: string }).product }).length;
      },
      // On bodies hydrated up front: the encoding alone.
      smsEncoding: (i: number) => smsEncoding(bodies[i & (VARIANTS - 1)] as string).units,
    };
    const names4 = Object.keys(fns) as Array<keyof typeof fns>;
    const iterations = { buildIntent: 0, reference: 0, hydrate: 0, smsEncoding: 0 };
    for (const k of names4) iterations[k] = calibrate(fns[k], opts.targetRoundMs);
    const samples: Record<keyof typeof fns, number[]> = { buildIntent: [], reference: [], hydrate: [], smsEncoding: [] };
    // Interleaved rounds, the order rotating: a noisy neighbour's burst lands on all of them alike.
    for (let r = 0; r < opts.rounds; r++) {
      throwIfAborted(opts.signal);
      for (let j = 0; j < names4.length; j++) {
        const k = names4[(r + j) % names4.length] as keyof typeof fns;
        const t = timeLoop(fns[k], iterations[k]);
        samples[k].push(t.ns);
        checksum = (checksum + t.acc) % 1_000_000_007;
      }
    }
    const probe = engine.buildIntent({ sendId: 's', decisionId: 'd', userId: 'user-0', campaign, channel: 'sms', user: users[0] as UserState, vars: vars[0] as { product: string } });
    const enc = smsEncoding(probe.sms?.body ?? '');
    const nsPerOp = { buildIntent: median(samples.buildIntent), reference: median(samples.reference), hydrate: median(samples.hydrate), smsEncoding: median(samples.smsEncoding) };
    const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
    const c: EncodingCase = {
      name: language === 'en' ? 'English, GSM-7' : 'Hindi, UCS-2',
      language,
      template,
      example: probe.sms?.body ?? '',
      encoding: enc.encoding,
      units: enc.units,
      segments: probe.segments,
      nsPerOp,
      range: { buildIntent: range(samples.buildIntent), reference: range(samples.reference) },
      ratio: nsPerOp.buildIntent / nsPerOp.reference,
      iterations,
    };
    log(`  ${c.name}: buildIntent ${(nsPerOp.buildIntent / 1000).toFixed(2)} µs, hydrate ${(nsPerOp.hydrate / 1000).toFixed(2)} µs, smsEncoding ${(nsPerOp.smsEncoding / 1000).toFixed(2)} µs, bare replace ${(nsPerOp.reference / 1000).toFixed(3)} µs (ratio ${c.ratio.toFixed(1)}); ${c.encoding}, ${c.units} units, ${c.segments} segment(s)`);
    cases.push(c);
  }
  return { rounds: opts.rounds, targetRoundMs: opts.targetRoundMs, cases, checksum };
}
