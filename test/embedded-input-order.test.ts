import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { localTime } from '../operators/decisions/local-time.js';
import { DECISION_STORES } from '../operators/decisions/stores.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import type { UserState } from '../operators/decisions/types.js';
import { createReplica } from '../processor/create-replica.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { VirtualClock } from '../processor/clock.js';
import { indiaUser } from './support/decisions.js';
import { testLogger } from './support/logger.js';
import { tempDir } from './support/tmp.js';
import { waitFor } from './support/wait.js';

const TS = Date.UTC(2026, 10, 20, 1, 30); // Friday 07:00 in India, Thursday 22:30 in São Paulo

/** The hour-of-week buckets of a user's activity histogram that hold anything. */
function activeBuckets(user: UserState | undefined): number[] {
  return (user?.features.how ?? []).flatMap((x, b) => (x > 0 ? [b] : []));
}

/*
 * A backlog read on the embedded default (a first start, or a restart after records piled up):
 * every user's profile was written before their events, but the topics are separate logs, read
 * a batch of each in turn once the profiles' backlog has been read (profiles first). Events read
 * before their profiles would be placed in the hours of the default time zone, not the user's,
 * in their own histogram and in the population's; and what a replica decided would depend on
 * processor.maxBatchRecords, which sets how many events come first.
 */
for (const maxBatchRecords of [1, 1000]) {
  test(`embedded (maxBatchRecords ${maxBatchRecords}): a backlog's profiles are read before its events, so each event falls in its user's local hour`, async () => {
    const { dir, cleanup } = tempDir();
    const config = validateConfig({ state: { dir: join(dir, 'state') }, embedded: { partitions: 1 }, processor: { maxBatchRecords } });
    const log = new EmbeddedLog(join(dir, 'state', 'embedded-log'));
    // On a clock of the events' own day: on the system clock, events of a fixed date decay in
    // the histograms with every day that passes, until they count for nothing.
    const clock = new VirtualClock(TS + 10 * 60_000);
    const { replica } = createReplica({ config, topology: () => decisionTopology(config, new HeuristicScorer()), logger: testLogger, embeddedLog: log, clock });
    try {
      for (const t of [...replica.topics.inputs, ...replica.topics.outputs]) log.createTopic(t, 1);
      const users = ['br1', 'br2', 'br3'];
      // More profiles ahead of theirs than one batch holds, of users with no events: read a batch
      // of each topic in turn, their events would come before their profiles at either batch size.
      const others = Array.from({ length: 1200 }, (_, i) => `in${i}`);
      log.append(replica.topics.input('profiles'), others.map((u) => ({ key: u, value: JSON.stringify(indiaUser(u)) })));
      log.append(
        replica.topics.input('profiles'),
        users.map((u) => ({ key: u, value: JSON.stringify(indiaUser(u, { country: 'BR', timezone: 'America/Sao_Paulo', phone: '+5511900000042' })) })),
      );
      log.append(
        replica.topics.input('events'),
        // 501 events in all: the population's histogram is stored every 500.
        users.flatMap((u) => Array.from({ length: 167 }, (_, i) => ({ key: u, value: JSON.stringify({ userId: u, ts: TS + i * 1000, type: 'app_open' }) }))),
      );
      await replica.start();
      const users$ = () => replica.tasks.get(0)?.state.store<UserState>(DECISION_STORES.users.name);
      await waitFor(async () => {
        for (const u of users) {
          const user = await users$()?.get([u]);
          if (user?.profile === undefined || activeBuckets(user).length === 0) return false;
        }
        const events = replica.topics.input('events');
        return log.committed(config.kafka.groupId, events, 0) === log.end(events, 0);
      }, 'every profile and event to be read');
      assert.equal(log.end(replica.topics.output('deadletter'), 0), 0, 'nothing dead-lettered');
      const local = localTime(TS, 'America/Sao_Paulo').hourOfWeek;
      assert.notEqual(local, localTime(TS, 'Asia/Kolkata').hourOfWeek, 'the test tells the zones apart');
      for (const u of users) {
        const user = await users$()?.get([u]);
        assert.equal(user?.profile?.timezone, 'America/Sao_Paulo');
        assert.deepEqual(activeBuckets(user), [local], `${u}: the event in São Paulo's Thursday 22:00 hour, not India's Friday 07:00`);
      }
      const population = await replica.tasks.get(0)?.state.store<number[]>(DECISION_STORES.population.name).get(['how']);
      assert.deepEqual(population?.flatMap((x, b) => (x > 0 ? [b] : [])), [local], "the population's histogram too");
    } finally {
      await replica.stop();
      await log.close();
      cleanup();
    }
  });
}
