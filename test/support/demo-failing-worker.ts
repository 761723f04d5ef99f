import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInput, WorkerReply } from '../../cli/demo-worker.js';

// A stand-in for a demo replica's thread (test/demo-replicas.test.ts): it leaves a file in its
// directory, says where, and then replica 2 fails while replica 1 ticks on for ever.
const { shard, dir } = workerData as WorkerInput;
writeFileSync(join(dir, 'state.mdb'), 'x');
parentPort?.postMessage({ type: 'progress', line: `dir ${dir}` } satisfies WorkerReply);
if (shard.index === 1) setTimeout(() => {
  throw new Error('replica 2 failed half-way');
}, 300);
else setInterval(() => parentPort?.postMessage({ type: 'progress', line: 'tick' } satisfies WorkerReply), 50);
