/**
 * STOP / START / HELP keywords in an SMS the user sent us, per country rules.
 *
 * A keyword must be the whole message (after normalisation), never a word inside it: that is
 * CTIA practice and what US carriers and aggregators implement, and it keeps a sentence such
 * as "stop sending me shoes? no, I like them" from unsubscribing someone who did not ask to.
 * Free-text opt-out requests are for a human (or a later classifier) to handle, not this.
 */
import type { CountryRules } from '../../config/rules-schema.js';

export type Keyword = 'stop' | 'start' | 'help';

/**
 * The form both messages and configured keywords are compared in:
 * - NFKC, so full-width or compatibility forms ("ＳＴＯＰ") read as plain letters;
 * - hyphens and dashes are spaces, so "OPT-OUT" and "opt out" are the configured "OPT OUT"
 *   (a user who writes it hyphenated means the same thing; "OPTOUT" is configured separately);
 * - trimmed, runs of whitespace collapsed to one space;
 * - trailing "." and "!" dropped ("Stop." and "STOP!!" are STOP); "?" is kept, as "stop?" reads
 *   as a question rather than an instruction;
 * - upper case (locale-independent mapping, so a Turkish device locale changes nothing).
 */
export function normalizeKeywordText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[-\u2010-\u2015\u2212]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.!]+$/, '')
    .trim()
    .toUpperCase();
}

/** Normalised keyword → meaning, built once per rules object (rules are immutable config). */
const tables = new WeakMap<CountryRules, ReadonlyMap<string, Keyword>>();

function tableFor(rules: CountryRules): ReadonlyMap<string, Keyword> {
  let table = tables.get(rules);
  if (table === undefined) {
    const t = new Map<string, Keyword>();
    // Inserted help, start, stop: a word configured in two lists means the later one, so an
    // overlap resolves to STOP, the reading that cannot send someone a message they refused.
    for (const [words, meaning] of [
      [rules.helpKeywords, 'help'],
      [rules.startKeywords, 'start'],
      [rules.stopKeywords, 'stop'],
    ] as const) {
      for (const w of words) {
        const key = normalizeKeywordText(w);
        if (key !== '') t.set(key, meaning);
      }
    }
    table = t;
    tables.set(rules, table);
  }
  return table;
}

/** The keyword the whole message is, under `rules`, or undefined when it is not exactly one. */
export function matchKeyword(text: string, rules: CountryRules): Keyword | undefined {
  const key = normalizeKeywordText(text);
  if (key === '') return undefined;
  return tableFor(rules).get(key);
}
