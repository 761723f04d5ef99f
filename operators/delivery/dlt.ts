import { compileDltTemplate } from '../sinks/providers/msg91-variables.js';

/** TRAI DLT: each {#var#} of a registered template holds at most 30 characters. */
export const DLT_VARIABLE_MAX = 30;

const compiled = new Map<string, RegExp>();

/**
 * Whether a hydrated SMS body fits its registered DLT template: the fixed text equal, each
 * variable at most 30 characters. Operators scrub a message that does not fit, so it is
 * refused here, with the reason, instead of being paid for and dropped.
 */
export function dltMismatch(body: string, registered: string): string | undefined {
  let re = compiled.get(registered);
  if (re === undefined) {
    re = compileDltTemplate(registered);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(registered, re);
  }
  const m = re.exec(body);
  if (m === null) return 'the message does not match its registered DLT template';
  for (let i = 1; i < m.length; i++) {
    if ((m[i] ?? '').length > DLT_VARIABLE_MAX) return `DLT variable ${i} is ${(m[i] ?? '').length} characters (at most ${DLT_VARIABLE_MAX})`;
  }
  return undefined;
}
