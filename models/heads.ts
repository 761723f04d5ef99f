/**
 * The three response heads every nudge model predicts, in the one order used everywhere:
 * the serving model's output columns, calibration.json, metrics.json and the forward pass.
 * Matches the fields of `Scores` (operators/decisions/scorer.ts).
 */
export const HEADS = ['click', 'convert', 'unsubscribe'] as const;
export type Head = (typeof HEADS)[number];

export function isHead(x: string): x is Head {
  return (HEADS as readonly string[]).includes(x);
}
