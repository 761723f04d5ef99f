import type { Campaign } from '../../processor/messages/index.js';
import type { Channel } from '../decisions/types.js';

export type SmsTemplate = NonNullable<Campaign['templates'][string]['sms']>;
export type PushTemplate = NonNullable<Campaign['templates'][string]['push']>;

const VARIABLE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

export class TemplateError extends Error {
  readonly variable: string | undefined;
  constructor(message: string, variable?: string) {
    super(message);
    this.variable = variable;
  }
}

/**
 * The template for a channel in the user's language: the user's language, then the
 * campaign's default, then English, then (for an English-less campaign) none.
 */
export function pickTemplate<C extends Channel>(
  campaign: Campaign,
  channel: C,
  language: string | undefined,
): { language: string; template: C extends 'sms' ? SmsTemplate : PushTemplate } | undefined {
  // Called for every candidate and send: no intermediate arrays.
  const dash = language === undefined ? -1 : language.indexOf('-');
  const base = dash > 0 ? (language as string).slice(0, dash) : undefined;
  for (const lang of [language, base, campaign.defaultLanguage, 'en']) {
    if (lang === undefined) continue;
    const t = campaign.templates[lang]?.[channel];
    if (t !== undefined) return { language: lang, template: t as C extends 'sms' ? SmsTemplate : PushTemplate };
  }
  return undefined;
}

/** Where `{{var}}` values come from: a record, or a lookup (candidate vars, then profile fields). */
export type TemplateValues = Readonly<Record<string, string | number | undefined>> | ((name: string) => string | number | undefined);

/** A template split once into literal text and variable names, alternating: text, var, text, … text. */
type Parsed = readonly string[];
const parsed = new Map<string, Parsed>();
/** Campaign templates are few; the cache is dropped whole if something feeds it unbounded text. */
const PARSED_MAX = 4_096;

function parse(text: string): Parsed {
  let p = parsed.get(text);
  if (p !== undefined) return p;
  const parts: string[] = [];
  let last = 0;
  for (const m of text.matchAll(VARIABLE)) {
    parts.push(text.slice(last, m.index), m[1] as string);
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(text, (p = parts));
  return p;
}

/**
 * `{{var}}` substitution. A missing variable is an error (invalid_template), never an
 * empty gap: "Hi , 40% off" costs a segment and looks broken. Templates are parsed once
 * and cached: hydration is on the path of every decision and every send.
 */
export function hydrate(text: string, vars: TemplateValues): string {
  const parts = parse(text);
  if (parts.length === 1) return text;
  const get = typeof vars === 'function' ? vars : undefined;
  let out = parts[0] as string;
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i] as string;
    const value = get !== undefined ? get(name) : (vars as Readonly<Record<string, string | number | undefined>>)[name];
    if (value === undefined || value === '') throw new TemplateError(`template variable {{${name}}} has no value`, name);
    out += String(value) + (parts[i + 1] as string);
  }
  return out;
}

/** The variables a template uses, for validating a campaign up front. */
export function templateVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1] as string);
}
