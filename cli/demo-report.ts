import type { Quality } from '../bench/sim/quality.js';
import type { DemoReport } from '../bench/report-html/data.js';
import type { DemoRun } from './demo-run.js';
import { rates } from './demo-probe.js';
import type { SendHours } from './demo-summary.js';

/** The report's data from a demo run: the figures the text summary prints, and the run's throughput and latency. */
export function reportData(run: DemoRun, hours: SendHours, quality: readonly Quality[]): DemoReport {
  const first = new Set(run.decisions.map((d) => d.decisionId));
  const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    title: `nudge demo: ${run.args.users.toLocaleString('en')} simulated users`,
    run: { ...run.args, day: new Date(run.start).toISOString() },
    timings: Object.fromEntries(Object.entries(run.timings).map(([k, v]) => [k, round(v, 2)])) as DemoReport['timings'],
    counts: { historyEvents: run.historyEvents, candidates: run.candidates.length, decisions: first.size, sends: run.sends.length, deadLetters: run.deadLetters },
    feedback: { fed: run.feedback.fed, pending: run.feedback.pending, afterOptOut: run.feedback.counts.afterOptOut },
    throughput: rates(run.throughput),
    latency: run.latency,
    sendHours: { sends: hours.sends, activity: hours.activity.map((a) => round(a, 4)), atHabit: round(hours.atHabit, 4) },
    quality: quality.map((q) => ({ ...q, clicksPer1000: round(q.clicksPer1000, 2), conversionsPer1000: round(q.conversionsPer1000, 3), optOutsPer1000: round(q.optOutsPer1000, 3), costPerConversion: round(q.costPerConversion, 3) })),
  };
}
