/**
 * What a model reads: the logged FEATURE_SPEC vector, plus inputs derived from it by a pure
 * function of the row. Derived inputs are computed the same way in training and serving (both
 * call `expandRow`), so they are not a second feature function: the decision log still carries
 * only the FEATURE_SPEC vector, and the model directory records which derivation it was trained
 * with (`inputs` in feature-spec.json).
 *
 * Why derive anything: the responses are products of factors (hour affinity × interest ×
 * fatigue …), so their log-odds are sums of logs. A small model fed raw lifts has to learn the
 * log from a few thousand positives; fed the logs, a linear layer already has the right shape.
 * The heuristic scorer's log-odds go in too, as a prior the model can weigh or correct: with the
 * few clicks a new deployment has, a model that starts from the hand-set rules and learns how
 * far to trust them ranks better than one that learns everything from scratch (models/README.md
 * has the figures).
 *
 * Some logged features are left out of the model's input: the ones that describe the slot the
 * policy chose rather than the user (POLICY_SET). In the log, where in the window a message went
 * and how long it waited were picked by the policy that was running, from the user's activity
 * pattern, so their link with clicks is the old policy's choice, not a cause: a model that
 * learned it ranked a user's slots worse (a simulated comparison: 21.8 clicks per 1,000 sends
 * with them, 27.1 without, the heuristic 25.3). The model still ranks slots, through the user's
 * and the population's hour-of-week lifts, which describe the user.
 */
import { FEATURE_COUNT, FEATURE_SPEC, featureIndex, type FeatureName } from '../operators/decisions/feature-vector.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import { normaliseInto, type FeatureSpecFile } from './feature-spec-file.js';
import { ErrorCodes, NudgeError } from '../errors/index.js';

/** Version of the derivation below; a model trained on one refuses rows expanded by another. */
export const INPUTS_VERSION = 'i2';

export const DERIVED_NAMES = [
  'heuristic_logit_click', // logit of the heuristic scorer's p(click): the prior
  'heuristic_logit_convert', // logit of its p(convert)
  'heuristic_logit_unsubscribe', // logit of its p(unsubscribe)
  'log_user_slot_lift', // log of user_slot_lift (floored at 0.01): multiplicative in the truth
  'log_pop_slot_lift', // log of pop_slot_lift
  'log_blend_slot_lift', // log of blend_slot_lift
  'log_channel_ctr', // log of the smoothed per-channel CTR: responsiveness shows up as a factor
  'log_user_hour_lift', // log of user_hour_lift (i2)
  'log_blend_hour_lift', // log of blend_hour_lift (i2)
  'log_category_share', // log of category_share (i2): interest is a factor in the truth too
] as const;

/** Logged features that describe the policy's choice of slot, not the user: not model inputs. */
export const POLICY_SET: readonly FeatureName[] = ['window_position', 'log_hours_until_send'];

/** Indices into the FEATURE_SPEC vector of the features a model reads, in order. */
const KEPT: readonly number[] = FEATURE_SPEC.names.flatMap((n, i) => ((POLICY_SET as readonly string[]).includes(n) ? [] : [i]));

export const INPUT_NAMES: readonly string[] = [...KEPT.map((i) => FEATURE_SPEC.names[i] as string), ...DERIVED_NAMES];
export const INPUT_COUNT = INPUT_NAMES.length;

// heuristic-2, whatever the heuristics served are: its log-odds are part of derivation i2, which
// the shipped model was trained on; other log-odds would need a new INPUTS_VERSION and a retrain.
const heuristic = new HeuristicScorer({ version: 2 });
// A lift of 0 (an hour never seen) would be log 0; 0.01 is "a hundred times rarer than uniform".
const LIFT_FLOOR = 0.01;
// Probabilities from the heuristic are clamped before the logit so a 0 or 1 stays finite.
const P_EPS = 1e-6;

const I = {
  user: featureIndex('user_slot_lift'),
  pop: featureIndex('pop_slot_lift'),
  blend: featureIndex('blend_slot_lift'),
  ctr: featureIndex('channel_ctr'),
  userHour: featureIndex('user_hour_lift'),
  blendHour: featureIndex('blend_hour_lift'),
  category: featureIndex('category_share'),
};

function logit(p: number): number {
  const q = Math.min(1 - P_EPS, Math.max(P_EPS, Number.isFinite(p) ? p : P_EPS));
  return Math.log(q / (1 - q));
}

function logFloor(x: number | undefined): number {
  return Math.log(Math.max(LIFT_FLOOR, x !== undefined && Number.isFinite(x) ? x : LIFT_FLOOR));
}

/** The model inputs of one FEATURE_SPEC row, written to out[offset .. offset + INPUT_COUNT). */
export function expandRowInto(row: Float32Array, out: Float32Array, offset: number): void {
  if (row.length !== FEATURE_COUNT) throw new RangeError(`row has ${row.length} features, ${FEATURE_SPEC.version} has ${FEATURE_COUNT}`);
  let i = offset;
  for (const k of KEPT) out[i++] = row[k] as number;
  const s = heuristic.scoreOne(row);
  out[i++] = logit(s.click);
  out[i++] = logit(s.convert);
  out[i++] = logit(s.unsubscribe);
  out[i++] = logFloor(row[I.user]);
  out[i++] = logFloor(row[I.pop]);
  out[i++] = logFloor(row[I.blend]);
  out[i++] = logFloor(row[I.ctr]);
  out[i++] = logFloor(row[I.userHour]);
  out[i++] = logFloor(row[I.blendHour]);
  out[i++] = logFloor(row[I.category]);
}

/** The model inputs of one FEATURE_SPEC row, as a new array. */
export function expandRow(row: Float32Array): Float32Array {
  const out = new Float32Array(INPUT_COUNT);
  expandRowInto(row, out, 0);
  return out;
}

/** The names a model of `spec` must have been trained on: the FEATURE_SPEC vector, expanded or not. */
function expectedNames(spec: FeatureSpecFile): readonly string[] {
  if (spec.inputs === undefined) return FEATURE_SPEC.names;
  if (spec.inputs === INPUTS_VERSION) return INPUT_NAMES;
  throw new NudgeError(ErrorCodes.MODEL_INCOMPATIBLE, `model was trained on derived inputs ${spec.inputs}, this build derives ${INPUTS_VERSION}`);
}

/** Throws unless `spec` describes the FEATURE_SPEC this process builds vectors with (and a derivation it knows). */
export function assertMatchesRunningSpec(spec: FeatureSpecFile): void {
  if (spec.version !== FEATURE_SPEC.version) {
    throw new NudgeError(ErrorCodes.MODEL_INCOMPATIBLE, `model was trained on feature version ${spec.version}, this build produces ${FEATURE_SPEC.version}`);
  }
  const names = expectedNames(spec);
  if (spec.names.length !== names.length || spec.names.some((n, i) => n !== names[i])) {
    throw new NudgeError(ErrorCodes.MODEL_INCOMPATIBLE, `model's feature names differ from FEATURE_SPEC ${FEATURE_SPEC.version} (same version, different list: a spec edited without a version bump)`);
  }
  if (spec.mean.length !== names.length || spec.std.length !== names.length) {
    throw new Error(`feature-spec.json has ${spec.mean.length} means and ${spec.std.length} stds for ${names.length} features`);
  }
}

/**
 * FEATURE_SPEC row → the normalised input a model of `spec` reads: expanded when the model was
 * trained on derived inputs, then (x − mean)/std. One instance per scorer; not re-entrant (it
 * reuses one scratch row).
 */
export class RowEncoder {
  /** Width of the model's input. */
  readonly inputDim: number;
  /** Length of the rows it takes (the FEATURE_SPEC vector). */
  readonly rowDim: number;
  readonly #expand: boolean;
  readonly #mean: Float32Array;
  readonly #invStd: Float32Array;
  readonly #scratch: Float32Array;

  constructor(spec: FeatureSpecFile) {
    expectedNames(spec); // refuses a derivation this build does not know
    this.#expand = spec.inputs === INPUTS_VERSION;
    this.inputDim = spec.mean.length;
    this.rowDim = this.#expand ? FEATURE_COUNT : this.inputDim;
    this.#mean = Float32Array.from(spec.mean);
    this.#invStd = Float32Array.from(spec.std, (s) => 1 / s);
    this.#scratch = new Float32Array(INPUT_COUNT);
  }

  /** Writes the normalised input of `row` (a FEATURE_SPEC vector) to out[offset .. offset + inputDim). */
  encodeInto(row: Float32Array, out: Float32Array, offset: number): void {
    if (this.#expand) {
      expandRowInto(row, this.#scratch, 0);
      normaliseInto(this.#scratch, this.#mean, this.#invStd, out, offset);
    } else {
      normaliseInto(row, this.#mean, this.#invStd, out, offset);
    }
  }
}
