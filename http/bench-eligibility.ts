import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { startReferenceEndpoint } from './bench-reference.js';

export { startReferenceEndpoint } from './bench-reference.js';

export interface BenchEligibilityOptions {
  /** The eligibility endpoint (`http://host:port/v1/eligibility`); a bare origin gets the path added. */
  url: string;
  token: string;
  /**
   * Requests per second (autocannon's overallRate). autocannon turns it into a quota per
   * connection per second: each connection sends back to back until it has used its share,
   * then waits for the next second. Arrivals come in bursts, not evenly spaced.
   */
  rate: number;
  seconds: number;
  /** One request body; called up front to fill a pool the load generator cycles through. */
  bodies: () => string;
  /** Connections to spread the rate over (default: enough that none needs more than ~250/s). */
  connections?: number;
  /** Distinct bodies to generate (default min(rate × seconds, 5,000)). */
  poolSize?: number;
}

export interface BenchEligibilityResult {
  /** Latency percentiles in milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  /** Mean requests per second completed. */
  rps: number;
  /** Connection errors + timeouts + non-2xx answers. */
  errors: number;
}

interface ChildConfig {
  autocannonPath: string;
  url: string;
  token: string;
  rate: number;
  seconds: number;
  connections: number;
  bodies: string[];
}

type ChildReply = { result: BenchEligibilityResult } | { error: string };

/**
 * Runs in the second process (CommonJS, via `node -e`): autocannon must not share an
 * event loop, or a CPU, with the server it measures. Config in and result out over IPC.
 */
const CHILD = `
process.once('message', (cfg) => {
  const autocannon = require(cfg.autocannonPath);
  let i = 0;
  autocannon({
    url: cfg.url,
    method: 'POST',
    connections: cfg.connections,
    pipelining: 1,
    duration: cfg.seconds,
    overallRate: cfg.rate,
    timeout: 10,
    headers: { authorization: 'Bearer ' + cfg.token, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => { req.body = cfg.bodies[i++ % cfg.bodies.length]; return req; } }],
  }, (err, r) => {
    const reply = err
      ? { error: String(err && err.message || err) }
      : { result: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, rps: r.requests.average, errors: r.errors + r.timeouts + r.non2xx } };
    process.send(reply, () => process.disconnect());
  });
});
`;

/**
 * Load-tests POST /v1/eligibility at a fixed request rate from a second process and reports
 * latency percentiles. The rate caps each second's requests; within a second every
 * connection is a closed loop (one request in flight) until its quota is spent, so the
 * latency is the one a caller sees in a burst of `connections` concurrent requests. With a
 * rate set, autocannon corrects for coordinated omission with an expected interval of
 * ceil(1 / per-connection rate) ms, so one stall shows up as many slow samples. A path
 * slower than connections / rate per request cannot reach the rate: compare `rps` with it.
 */
export async function benchEligibility(opts: BenchEligibilityOptions): Promise<BenchEligibilityResult> {
  if (!(opts.rate > 0) || !(opts.seconds > 0)) throw new Error('benchEligibility: rate and seconds must be positive');
  const url = /^https?:\/\/[^/]+\/?$/.test(opts.url) ? `${opts.url.replace(/\/$/, '')}/v1/eligibility` : opts.url;
  const poolSize = Math.max(1, Math.min(opts.poolSize ?? Math.ceil(opts.rate * opts.seconds), 5_000));
  const config: ChildConfig = {
    autocannonPath: createRequire(import.meta.url).resolve('autocannon'),
    url,
    token: opts.token,
    rate: opts.rate,
    seconds: opts.seconds,
    connections: opts.connections ?? Math.min(256, Math.max(2, Math.ceil(opts.rate / 250))),
    bodies: Array.from({ length: poolSize }, () => opts.bodies()),
  };
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<BenchEligibilityResult>((resolve, reject) => {
    let reply: ChildReply | undefined;
    child.on('message', (m: ChildReply) => {
      reply = m;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (reply !== undefined && 'result' in reply) resolve(reply.result);
      else reject(new Error(`load generator failed: ${reply !== undefined && 'error' in reply ? reply.error : `exit ${code ?? signal}`}`));
    });
    child.send(config);
  });
}

/**
 * The issue's comparison in one call: the target, then the trivial reference endpoint,
 * at the same rate and with the same bodies, one after the other in this run.
 */
export async function benchEligibilityWithReference(opts: BenchEligibilityOptions): Promise<{ target: BenchEligibilityResult; reference: BenchEligibilityResult }> {
  const target = await benchEligibility(opts);
  const ref = await startReferenceEndpoint();
  try {
    const reference = await benchEligibility({ ...opts, url: ref.url });
    return { target, reference };
  } finally {
    ref.close();
  }
}
