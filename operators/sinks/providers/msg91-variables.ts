/**
 * MSG91's flow API sends a registered template with its variables, not a finished text, while
 * a SendIntent carries the hydrated body. We recover the variables by matching the body
 * against the DLT template text (`{#var#}` placeholders, as registered on the DLT portal and in
 * the campaign's `dltTemplate`): the n-th placeholder becomes VARn, in order. A body that does
 * not match its template would be rejected by the operators' DLT scrubbing anyway.
 */

const PLACEHOLDER = /\{#var#\}/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles a DLT template text into a matcher; lazy groups so literal text between variables anchors them. */
export function compileDltTemplate(template: string): RegExp {
  const literals = template.split(PLACEHOLDER).map(escapeRegExp);
  return new RegExp(`^${literals.join('([\\s\\S]*?)')}$`);
}

/**
 * `{VAR1: …, VAR2: …}` for `body` under `template`, or undefined when the body does not fit it.
 * Without a template the whole body is VAR1: the usual set-up of one `{#var#}` flow per sender.
 */
export function msg91Variables(body: string, template: RegExp | undefined): Record<string, string> | undefined {
  if (template === undefined) return { VAR1: body };
  const m = template.exec(body);
  if (m === null) return undefined;
  const vars: Record<string, string> = {};
  for (let i = 1; i < m.length; i++) vars[`VAR${i}`] = m[i] ?? '';
  return vars;
}
