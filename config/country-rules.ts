import type { NudgeConfig } from './schema.js';
import type { CountryRules } from './rules-schema.js';
import { DEFAULT_COUNTRIES } from './default-countries.js';

/** Rules for every country: shipped defaults with the deployment's overrides on top, key by key. */
export function countryRules(config: Pick<NudgeConfig, 'countries'>): (country: string | undefined) => CountryRules {
  const merged = new Map<string, CountryRules>();
  const names = new Set([...Object.keys(DEFAULT_COUNTRIES), ...Object.keys(config.countries)]);
  const fallback = { ...(DEFAULT_COUNTRIES['default'] as CountryRules), ...(config.countries['default'] ?? {}) } as CountryRules;
  for (const name of names) {
    merged.set(name, { ...fallback, ...(DEFAULT_COUNTRIES[name] ?? {}), ...(config.countries[name] ?? {}) } as CountryRules);
  }
  return (country) => (country !== undefined ? merged.get(country) : undefined) ?? fallback;
}
