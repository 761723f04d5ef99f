import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeHost, hostCpu, hostCpuSince, parseProcStat } from '../cli/host-cpu.js';

test('host cpu: /proc/stat aggregate line, in seconds by what the time went to', () => {
  const text = 'cpu  7173966 13073 546117 7853916 45822 0 98036 1348216 0 0\ncpu0 3494223 6305 263412 4030523 18427 0 49041 681559 0 0\n';
  const cpu = parseProcStat(text);
  assert.deepEqual(cpu, { busy: (7173966 + 13073 + 546117 + 0 + 98036) / 100, idle: (7853916 + 45822) / 100, steal: 13482.16 });
  // Kernels before 2.6.11 have no steal column: it reads as none.
  assert.deepEqual(parseProcStat('cpu 100 0 50 1000 0 0 0\n'), { busy: 1.5, idle: 10, steal: 0 });
  assert.equal(parseProcStat('cpu0 1 2 3 4 5\n'), undefined);
  assert.equal(parseProcStat('cpu 1 x 3 4 5\n'), undefined);
  assert.equal(parseProcStat(''), undefined);
});

test('host cpu: a run’s line names the CPU, other processes, steal and idle, never less than nothing', () => {
  const used = hostCpuSince({ busy: 100, idle: 50, steal: 10 }, { busy: 260, idle: 60, steal: 50.5 });
  assert.deepEqual(used, { busy: 160, idle: 10, steal: 40.5 });
  assert.equal(describeHost(used, 150, 2, 'Intel(R) Xeon(R) Processor @ 2.50GHz'), 'the machine meanwhile (2 × Intel Xeon 2.50GHz, /proc/stat): 10.0 s of CPU to other processes, 40.5 s withheld by the hypervisor (steal), 10.0 s idle');
  assert.match(describeHost(used, 161, 2, 'AMD EPYC'), /^the machine meanwhile \(2 × AMD EPYC, .*: 0\.0 s of CPU to other processes/);
  // os.cpus() can list no model (some containers and architectures).
  assert.match(describeHost(used, 150, 4, ''), /\(4 × unknown CPU, /);
});

test('host cpu: on Linux the machine’s counters only grow', { skip: process.platform !== 'linux' ? 'no /proc/stat outside Linux' : false }, () => {
  const before = hostCpu();
  assert.ok(before !== undefined);
  let x = 0;
  for (let i = 0; i < 5e7; i++) x += i;
  assert.ok(x > 0);
  const after = hostCpu();
  assert.ok(after !== undefined);
  const used = hostCpuSince(before, after);
  assert.ok(used.busy > 0 && used.idle >= 0 && used.steal >= 0, JSON.stringify(used));
});
