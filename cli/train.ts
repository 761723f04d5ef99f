import { ConfigError } from '../errors/index.js';
import { trainModels } from '../models/train.js';
import { evaluateModelOnLog } from '../models/evaluate-log.js';
import { requireReadable } from './input-files.js';

export interface TrainArgs {
  decisions: string;
  events: string;
  registry: string;
  'as-of'?: string | undefined;
  hidden?: string | undefined;
  delayed?: string | undefined;
  'convert-head'?: string | undefined;
  'derived-inputs'?: boolean | undefined;
  seed?: number | undefined;
}

function asOfMs(value: string | undefined): number {
  if (value === undefined) return Date.now();
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new ConfigError('--as-of', `"${value}" is not a date`, 'an ISO-8601 date');
  return ms;
}

/** `nudge train`: models from the decision log (with its feature vectors) and the events that label it. */
export async function trainCommand(args: TrainArgs): Promise<number> {
  const delayed = args.delayed ?? 'fnw';
  if (delayed !== 'fnw' && delayed !== 'wait' && delayed !== 'naive') throw new ConfigError('--delayed', `"${delayed}"`, '"fnw" | "wait" | "naive"');
  const convertHead = args['convert-head'] ?? 'given_click';
  if (convertHead !== 'given_click' && convertHead !== 'joint') throw new ConfigError('--convert-head', `"${convertHead}"`, '"given_click" | "joint"');
  const hidden = args.hidden === undefined ? undefined : args.hidden === '' ? [] : args.hidden.split(',').map(Number);
  if (hidden?.some((n) => !Number.isInteger(n) || n < 1)) throw new ConfigError('--hidden', `"${args.hidden}"`, 'comma-separated layer sizes, or "" for logistic regression');
  requireReadable(args.decisions, '--decisions', 'a JSON-lines decision log');
  requireReadable(args.events, '--events', 'a JSON-lines event log');
  const result = await trainModels({
    decisions: args.decisions,
    events: args.events,
    registryDir: args.registry,
    asOf: asOfMs(args['as-of']),
    delayed,
    convertHead,
    ...(args['derived-inputs'] !== undefined ? { derivedInputs: args['derived-inputs'] } : {}),
    ...(hidden !== undefined ? { hidden } : {}),
    ...(args.seed !== undefined ? { seed: args.seed } : {}),
    log: (event, fields) => console.error(JSON.stringify({ event, ...fields })),
  });
  console.log(JSON.stringify({ version: result.version, dir: result.dir, metrics: result.metrics }, null, 2));
  return 0;
}

export interface EvalArgs {
  model: string;
  decisions: string;
  events: string;
  'as-of'?: string | undefined;
}

/** `nudge eval`: AUC, log loss, ECE, O/E per channel and country, and drift, for a model on a decision log. */
export async function evalCommand(args: EvalArgs): Promise<number> {
  requireReadable(args.model, '--model', "a model version's directory");
  requireReadable(args.decisions, '--decisions', 'a JSON-lines decision log');
  requireReadable(args.events, '--events', 'a JSON-lines event log');
  const report = await evaluateModelOnLog({ modelDir: args.model, decisions: args.decisions, events: args.events, asOf: asOfMs(args['as-of']) });
  console.log(JSON.stringify(report, null, 2));
  if (report.messages === 0) {
    // A report of nulls is easy to misread as a model that scored nothing right.
    const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));
    console.error(
      `nothing to evaluate: no message sent since ${iso(report.since)} (the model's training time) has a final label as of ${iso(report.asOf)}; ` +
        'a label is final a day after its send for clicks, two for opt-outs and three for conversions, so give a later --as-of, or a log that runs past the training time',
    );
  }
  return 0;
}
