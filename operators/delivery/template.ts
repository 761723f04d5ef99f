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
  const base = language?.split('-')[0];
  const order = [language, base, campaign.defaultLanguage, 'en'].filter((l): l is string => l !== undefined);
  for (const lang of order) {
    const t = campaign.templates[lang]?.[channel];
    if (t !== undefined) return { language: lang, template: t as C extends 'sms' ? SmsTemplate : PushTemplate };
  }
  return undefined;
}

/**
 * `{{var}}` substitution. A missing variable is an error (invalid_template), never an
 * empty gap: "Hi , 40% off" costs a segment and looks broken.
 */
export function hydrate(text: string, vars: Readonly<Record<string, string | number | undefined>>): string {
  return text.replace(VARIABLE, (_, name: string) => {
    const value = vars[name];
    if (value === undefined || value === '') throw new TemplateError(`template variable {{${name}}} has no value`, name);
    return String(value);
  });
}

/** The variables a template uses, for validating a campaign up front. */
export function templateVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1] as string);
}
