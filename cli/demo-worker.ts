import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runDemoShard, type Shard, type ShardResult } from './demo-shard.js';
import type { DemoArgs } from './demo-world.js';

/** What runDemo hands a replica's thread. */
export interface WorkerInput {
  args: DemoArgs;
  shard: Shard;
  startedAt: number;
  /** The replica's log and state; the main thread removes it. */
  dir: string;
}

/** What a demo replica's thread posts back: progress lines, then its result once. */
export type WorkerReply = { type: 'progress'; line: string } | { type: 'result'; result: ShardResult };

// The entry of a demo replica's worker thread (demo-run.ts): runs its share and posts it back.
// An error escapes as the worker's 'error' event, which rejects the run.
if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const { args, shard, startedAt, dir } = workerData as WorkerInput;
  const result = await runDemoShard(args, shard, startedAt, dir, (line) => port.postMessage({ type: 'progress', line } satisfies WorkerReply));
  // The history counters are the only large typed array: moved, not copied.
  port.postMessage({ type: 'result', result } satisfies WorkerReply, [result.historyByHour.buffer as ArrayBuffer]);
}
