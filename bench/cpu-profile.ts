import { readFileSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './report.js';

export interface HotFunction {
  /** Function name (or a V8 pseudo-frame such as "(garbage collector)"). */
  name: string;
  /** Where it is defined, relative to the repository (never an absolute machine path); line is 1-based, in the file V8 ran. */
  location: string;
  selfMs: number;
  /** Share of all sampled time, idle included. */
  selfShare: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers. */
  totalMs: number;
  samples: number;
  /** Time in "(idle)": the event loop waiting, not our CPU. */
  idleMs: number;
  top: HotFunction[];
  /** Self time by file (package for node_modules), the same hot spots seen per module. */
  byFile: Array<{ file: string; selfMs: number; selfShare: number }>;
}

/**
 * Samples this process's CPU with V8's profiler for the span of `fn` only (unlike
 * `node --cpu-prof`, which covers the whole process, set-up phases included).
 */
export async function profiled<T>(fn: () => Promise<T>, intervalUs = 1000): Promise<{ result: T; profile: Profiler.Profile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await session.post('Profiler.stop').catch(() => undefined);
      throw err;
    }
    const { profile } = await session.post('Profiler.stop');
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

export async function writeProfile(profile: Profiler.Profile, file: string): Promise<void> {
  await writeFile(file, JSON.stringify(profile));
}

/** The `top` functions by self time (time with the function itself on top of the stack). */
export function summariseProfile(profile: Profiler.Profile, top = 15): ProfileSummary {
  const nodes = new Map<number, Profiler.ProfileNode>();
  for (const n of profile.nodes) nodes.set(n.id, n);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time between sample i-1 and sample i: V8's (and DevTools') attribution to sample i.
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  const byFunction = new Map<string, HotFunction>();
  const byFile = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  const root = repoRoot();
  for (const [id, us] of selfUs) {
    const frame = (nodes.get(id) as Profiler.ProfileNode).callFrame;
    totalUs += us;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    if (name === '(idle)') idleUs += us;
    const file = shortUrl(frame.url, root);
    const location = file === '' ? '' : `${file}:${frame.lineNumber + 1}`;
    const key = `${name}@${location}`;
    const entry = byFunction.get(key) ?? { name, location, selfMs: 0, selfShare: 0 };
    entry.selfMs += us / 1000;
    byFunction.set(key, entry);
    const group = file === '' ? name : moduleOf(file);
    byFile.set(group, (byFile.get(group) ?? 0) + us / 1000);
  }
  const totalMs = totalUs / 1000;
  const ranked = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const f of ranked) f.selfShare = totalMs === 0 ? 0 : f.selfMs / totalMs;
  return {
    totalMs,
    samples: samples.length,
    idleMs: idleUs / 1000,
    top: ranked,
    byFile: [...byFile.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([file, selfMs]) => ({ file, selfMs, selfShare: totalMs === 0 ? 0 : selfMs / totalMs })),
  };
}

/** Relative to the repository, so results never carry this machine's paths. */
function shortUrl(url: string, root: string): string {
  if (url === '') return '';
  let path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + 1);
  if (path.startsWith(`${root}/`)) path = path.slice(root.length + 1);
  return path;
}

/** node_modules/<pkg>/… and node_modules/@scope/<pkg>/… collapse to the package; our files stay files. */
function moduleOf(file: string): string {
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  return m?.[1] !== undefined ? `${m[1]} (package)` : file;
}

export function formatSummary(s: ProfileSummary): string {
  const lines = [`${s.samples} samples over ${(s.totalMs / 1000).toFixed(2)} s (${((100 * s.idleMs) / Math.max(1, s.totalMs)).toFixed(1)}% idle)`, '', 'top functions by self time:'];
  for (const [i, f] of s.top.entries()) lines.push(`${String(i + 1).padStart(2)}. ${(100 * f.selfShare).toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.location}`);
  lines.push('', 'by file:');
  for (const f of s.byFile) lines.push(`    ${(100 * f.selfShare).toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.file}`);
  return lines.join('\n');
}

function isMain(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return pathToFileURL(realpathSync(argv1)).href === import.meta.url;
  } catch {
    return false;
  }
}

// `node dist/bench/cpu-profile.js FILE.cpuprofile [TOP]`: summarises any profile, e.g. one from `node --cpu-prof`.
if (isMain()) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/cpu-profile.js FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profiler.Profile;
  process.stdout.write(`${formatSummary(summariseProfile(profile, Number(process.argv[3] ?? 15)))}\n`);
}
