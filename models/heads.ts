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

/**
 * What a model's convert output is (feature-spec.json `convertHead`; absent means 'joint'):
 *  - 'joint': p(convert | message), learned directly;
 *  - 'given_click': p(convert | click), so p(convert | message) = p(click) · p(convert | click).
 * The factorised form lets the conversion score inherit everything the click head learns about
 * send time and fatigue from ~5× more positives, and leaves the conversion head only what
 * differs between clickers. It ignores conversions without a click (view-through), which a
 * deployment that has them should train 'joint' for.
 */
export type ConvertHead = 'joint' | 'given_click';

/** p(convert | message) from the calibrated click and convert outputs of a model. */
export function convertProbability(convertHead: ConvertHead | undefined, click: number, convert: number): number {
  return convertHead === 'given_click' ? click * convert : convert;
}
