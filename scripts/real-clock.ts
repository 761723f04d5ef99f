/**
 * The environment without libfaketime's preload, for the programs that keep the real clock in
 * the later-date run (`run-tests.ts --later-days`): the Kafka broker, which the shared broker
 * also does (a JVM under libfaketime stalled: its controller timed out its own broker's
 * heartbeats), and Chromium, which never finished loading a page under it.
 */
export function realClockEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== 'LD_PRELOAD' && !k.startsWith('FAKETIME')) out[k] = v;
  return out;
}
