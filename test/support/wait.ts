/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Real timers on a shared machine: a run that a stall spoilt says nothing of the code under test,
 * so up to `attempts` runs, each judged in full. `run` returns undefined when its run passed, or
 * what it missed; the first passing run ends it, and if none passes every run's miss is reported.
 * Code that is wrong misses in every run.
 */
export async function passesInOneOf(attempts: number, run: (attempt: number) => Promise<string | undefined>): Promise<void> {
  const missed: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const miss = await run(attempt);
    if (miss === undefined) return;
    missed.push(`run ${attempt}: ${miss}`);
  }
  throw new Error(`no run of ${attempts} passed:\n${missed.join('\n')}`);
}
