/**
 * Classification metrics for a head's probabilities against 0/1 labels: AUC (ranking), log
 * loss (probabilistic fit), ECE and O/E (calibration; LinkedIn judges its response models by
 * AUC and O/E, notes/ml.md). Undefined cases (no positives, empty input) return NaN, never a
 * made-up number; JSON turns NaN into null.
 */

function checkLengths(name: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`${name}: ${a.length} scores, ${b.length} labels`);
}

/**
 * Area under the ROC curve = P(score of a random positive > score of a random negative),
 * ties counted as ½: the Mann–Whitney U statistic with mid-ranks, O(n log n).
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths('auc', scores, labels);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (scores[i] as number) - (scores[j] as number));
  let pos = 0;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    // A run of tied scores shares the mean of the ranks it spans (1-based).
    let j = i;
    const s = scores[order[i] as number] as number;
    while (j + 1 < n && (scores[order[j + 1] as number] as number) === s) j++;
    const midRank = (i + 1 + (j + 1)) / 2;
    for (let k = i; k <= j; k++) {
      if ((labels[order[k] as number] as number) > 0.5) {
        pos++;
        rankSumPos += midRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean negative log-likelihood; p clipped to [eps, 1 − eps] so one confident miss is finite. */
export function logLoss(p: ArrayLike<number>, labels: ArrayLike<number>, eps = 1e-15): number {
  checkLengths('logLoss', p, labels);
  const n = p.length;
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i] as number));
    sum -= (labels[i] as number) > 0.5 ? Math.log(q) : Math.log(1 - q);
  }
  return sum / n;
}

/**
 * Expected calibration error over equal-width bins of [0, 1]:
 * Σ_m (|B_m|/n)·|mean(y in B_m) − mean(p in B_m)|; p = 1 falls in the last bin.
 */
export function ece(p: ArrayLike<number>, labels: ArrayLike<number>, bins = 15): number {
  checkLengths('ece', p, labels);
  const n = p.length;
  if (n === 0) return NaN;
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const q = Math.min(1, Math.max(0, p[i] as number));
    const b = Math.min(bins - 1, Math.floor(q * bins));
    count[b] = (count[b] as number) + 1;
    sumP[b] = (sumP[b] as number) + q;
    sumY[b] = (sumY[b] as number) + ((labels[i] as number) > 0.5 ? 1 : 0);
  }
  let e = 0;
  for (let b = 0; b < bins; b++) {
    const c = count[b] as number;
    if (c > 0) e += (c / n) * Math.abs((sumY[b] as number) / c - (sumP[b] as number) / c);
  }
  return e;
}

/** Observed ÷ expected positives: 1 is calibrated in the mean, < 1 over-predicts. */
export function observedOverExpected(p: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths('observedOverExpected', p, labels);
  let obs = 0;
  let exp = 0;
  for (let i = 0; i < p.length; i++) {
    obs += (labels[i] as number) > 0.5 ? 1 : 0;
    exp += p[i] as number;
  }
  return exp > 0 ? obs / exp : NaN;
}

export interface ClassificationReport {
  n: number;
  positives: number;
  /** Observed positive rate. */
  rate: number;
  /** Mean predicted probability. */
  meanP: number;
  auc: number;
  logLoss: number;
  ece: number;
  oe: number;
}

export function classificationReport(p: ArrayLike<number>, labels: ArrayLike<number>): ClassificationReport {
  checkLengths('classificationReport', p, labels);
  const n = p.length;
  let positives = 0;
  let sumP = 0;
  for (let i = 0; i < n; i++) {
    if ((labels[i] as number) > 0.5) positives++;
    sumP += p[i] as number;
  }
  return {
    n,
    positives,
    rate: n > 0 ? positives / n : NaN,
    meanP: n > 0 ? sumP / n : NaN,
    auc: auc(p, labels),
    logLoss: logLoss(p, labels),
    ece: ece(p, labels),
    oe: observedOverExpected(p, labels),
  };
}
