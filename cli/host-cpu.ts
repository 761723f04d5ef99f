import { readFileSync } from 'node:fs';

/**
 * The machine's CPU time since boot, in seconds summed over its cores, by what it went to:
 * the aggregate line of Linux's /proc/stat. A run's wall time on a shared virtual machine
 * says little alone: the same demo took 101 s and 190 s of CPU an hour apart. What other
 * processes took, and what the hypervisor withheld (steal), is what tells a slow machine from
 * slow code.
 */
export interface HostCpu {
  /** Running anything: user, nice, system, irq and softirq (guest time is within user). */
  busy: number;
  /** Idle, or waiting on I/O. */
  idle: number;
  /** Wanted to run, but the hypervisor ran another guest. */
  steal: number;
}

/**
 * USER_HZ, the unit of /proc/stat: 100 on every architecture Linux runs node on (proc(5) and
 * `getconf CLK_TCK`), which node cannot ask for without a native module.
 */
const TICKS_PER_SECOND = 100;

/** The first line of /proc/stat, parsed; undefined when it is not that line. */
export function parseProcStat(text: string): HostCpu | undefined {
  const end = text.indexOf('\n');
  const line = end < 0 ? text : text.slice(0, end);
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 5) return undefined;
  const n = fields.slice(1).map(Number);
  if (!n.every((x) => Number.isSafeInteger(x) && x >= 0)) return undefined;
  // user nice system idle iowait irq softirq steal (guest and guest_nice are within user and nice).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
  return { busy: (user + nice + system + irq + softirq) / TICKS_PER_SECOND, idle: (idle + iowait) / TICKS_PER_SECOND, steal: steal / TICKS_PER_SECOND };
}

/** Now, or undefined where there is no /proc/stat (not Linux, or a sandbox without /proc). */
export function hostCpu(): HostCpu | undefined {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** What went where between two readings. */
export function hostCpuSince(before: HostCpu, after: HostCpu): HostCpu {
  return { busy: after.busy - before.busy, idle: after.idle - before.idle, steal: after.steal - before.steal };
}

/** A CPU model as a line names it: "Intel(R) Xeon(R) Processor @ 2.50GHz" → "Intel Xeon 2.50GHz". */
export function cpuName(model: string): string {
  return model.replace(/\((R|TM)\)/g, '').replace(/\bProcessor\b/, '').replace(/@/, '').replace(/\s+/g, ' ').trim();
}

/**
 * One line on the machine during a run that used `ownCpu` seconds of CPU itself: its cores
 * and their model, what other processes took, what the hypervisor withheld, and what was
 * left idle. The model is there because a shared machine of the same size is not always the
 * same CPU: the demo's default run took 38–48 s on one and 54–102 s on another.
 */
export function describeHost(used: HostCpu, ownCpu: number, cores: number, model: string): string {
  // Our own threads are within `busy`; the two are read by different clocks, so a small negative is 0.
  const others = Math.max(0, used.busy - ownCpu);
  const s = (x: number) => `${x.toFixed(1)} s`;
  const name = cpuName(model);
  return `the machine meanwhile (${cores} × ${name === '' ? 'unknown CPU' : name}, /proc/stat): ${s(others)} of CPU to other processes, ${s(used.steal)} withheld by the hypervisor (steal), ${s(used.idle)} idle`;
}
