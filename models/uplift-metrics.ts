/**
 * Uplift evaluation on a randomised experiment (treated vs control), for a score that ranks
 * users by predicted effect of sending (notes/ml.md):
 *  - Qini curve Q(k) = Y_t(k) − Y_c(k)·N_t(k)/N_c(k) over the k highest-scored users: the
 *    incremental responders if the top k were treated;
 *  - Qini coefficient: area between that curve and the random-targeting line from (0, 0) to
 *    (N, Q(N)), with the x axis as the targeted fraction and the area divided by N, i.e. the
 *    mean over targeting depths of the incremental responders per user gained over random
 *    targeting. Random scores have an expected coefficient of 0; a useful model is > 0.
 *  - uplift@f: the treated-minus-control response rate among the top fraction f.
 * Tied scores are one group: the curve has points only at group boundaries (a tie has no
 * defined order, so a coefficient must not depend on the input order).
 */

export interface UpliftSample {
  score: ArrayLike<number>;
  /** 1 treated, 0 control. */
  treated: ArrayLike<number>;
  /** The outcome (0/1 response, or a value such as spend). */
  outcome: ArrayLike<number>;
}

export interface QiniPoint {
  /** Users targeted (the top k by score). */
  k: number;
  q: number;
}

function check(s: UpliftSample): number {
  const n = s.score.length;
  if (s.treated.length !== n || s.outcome.length !== n) throw new RangeError('uplift: score, treated and outcome differ in length');
  return n;
}

function descendingOrder(score: ArrayLike<number>): number[] {
  // Stable sort by descending score: ties keep input order (only used within a tie group).
  return Array.from({ length: score.length }, (_, i) => i).sort((i, j) => (score[j] as number) - (score[i] as number) || i - j);
}

/** Q(k) = Y_t(k) − Y_c(k)·N_t(k)/N_c(k); with no controls yet it is Y_t(k) (nothing to subtract). */
function qiniValue(yt: number, nt: number, yc: number, nc: number): number {
  return nc > 0 ? yt - (yc * nt) / nc : yt;
}

/** The Qini curve, starting at (0, 0), with a point at the end of every tie group. */
export function qiniCurve(s: UpliftSample): QiniPoint[] {
  const n = check(s);
  const order = descendingOrder(s.score);
  const out: QiniPoint[] = [{ k: 0, q: 0 }];
  let yt = 0;
  let nt = 0;
  let yc = 0;
  let nc = 0;
  let i = 0;
  while (i < n) {
    const sc = s.score[order[i] as number] as number;
    while (i < n && (s.score[order[i] as number] as number) === sc) {
      const j = order[i] as number;
      if ((s.treated[j] as number) > 0.5) {
        nt++;
        yt += s.outcome[j] as number;
      } else {
        nc++;
        yc += s.outcome[j] as number;
      }
      i++;
    }
    out.push({ k: i, q: qiniValue(yt, nt, yc, nc) });
  }
  return out;
}

/**
 * Area between the Qini curve and the random line, x = k/N in [0, 1], divided by N
 * (trapezoids between the curve's points, which is exact for the linear interpolation that
 * tie groups imply).
 */
export function qiniCoefficient(s: UpliftSample): number {
  const n = check(s);
  if (n === 0) return NaN;
  const curve = qiniCurve(s);
  const total = (curve[curve.length - 1] as QiniPoint).q;
  let area = 0;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1] as QiniPoint;
    const b = curve[i] as QiniPoint;
    const da = a.q - (a.k / n) * total;
    const db = b.q - (b.k / n) * total;
    area += ((b.k - a.k) / n) * ((da + db) / 2);
  }
  return area / n;
}

export interface UpliftAt {
  /** Users in the top fraction (⌈f·N⌉, ties broken by input order). */
  n: number;
  treated: number;
  control: number;
  /** Mean outcome of treated minus mean outcome of control within the top fraction. */
  uplift: number;
}

/** Treated-minus-control response rate among the top `fraction` by score. */
export function upliftAt(s: UpliftSample, fraction: number): UpliftAt {
  const n = check(s);
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`upliftAt: fraction ${fraction} not in (0, 1]`);
  const order = descendingOrder(s.score);
  const top = Math.ceil(fraction * n);
  let yt = 0;
  let nt = 0;
  let yc = 0;
  let nc = 0;
  for (let r = 0; r < top; r++) {
    const j = order[r] as number;
    if ((s.treated[j] as number) > 0.5) {
      nt++;
      yt += s.outcome[j] as number;
    } else {
      nc++;
      yc += s.outcome[j] as number;
    }
  }
  return { n: top, treated: nt, control: nc, uplift: nt > 0 && nc > 0 ? yt / nt - yc / nc : NaN };
}

/** The average treatment effect of the whole sample: what targeting everyone (or at random) gains per user. */
export function averageTreatmentEffect(s: UpliftSample): number {
  return upliftAt(s, 1).uplift;
}
