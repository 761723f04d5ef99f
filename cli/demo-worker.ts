import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runDemoShard, type DemoArgs, type Shard, type ShardResult } from './demo-shard.js';

/** What a demo replica's thread posts back: progress lines, then its result once. */
export type WorkerReply = { type: 'progress'; line: string } | { type: 'result'; result: ShardResult };

// The entry of a demo replica's worker thread (demo-run.ts): runs its share and posts it back.
// An error escapes as the worker's 'error' event, which rejects the run.
if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const { args, shard, startedAt } = workerData as { args: DemoArgs; shard: Shard; startedAt: number };
  const result = await runDemoShard(args, shard, startedAt, (line) => port.postMessage({ type: 'progress', line } satisfies WorkerReply));
  // The history counters are the only large typed array: moved, not copied.
  port.postMessage({ type: 'result', result } satisfies WorkerReply, [result.historyByHour.buffer as ArrayBuffer]);
}
