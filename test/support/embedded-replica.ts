import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import { systemClock } from '../../processor/clock.js';
import { createReplica } from '../../processor/create-replica.js';
import type { EffectHandler } from '../../processor/effects.js';
import { EmbeddedLog, type AppendRecord } from '../../processor/embedded/log.js';
import type { Replica } from '../../processor/replica.js';
import { topologyFor } from '../../operators/topologies.js';
import { HOUR, campaign, indiaUser } from './decisions.js';
import { waitFor } from './wait.js';
import { testLogger } from './logger.js';
import { tempDir } from './tmp.js';

export interface EmbeddedReplica {
  replica: Replica;
  log: EmbeddedLog;
  /** Stops the replica, closes the log and removes the directory. */
  close(): Promise<void>;
}

/** A decision-topology replica on the embedded engine with its topics created, on the system clock; not started. */
export function embeddedReplica(opts: { partitions: number; effects?: EffectHandler[]; processor?: Record<string, unknown> }): EmbeddedReplica {
  const tmp = tempDir('nudge-embedded-');
  const config = validateConfig({ state: { dir: join(tmp.dir, 'state') }, embedded: { partitions: opts.partitions }, http: { port: 0 }, ...(opts.processor ? { processor: opts.processor } : {}) });
  const log = new EmbeddedLog(join(tmp.dir, 'log'));
  const { replica } = createReplica({ config, topology: topologyFor(config), logger: testLogger, clock: systemClock, embeddedLog: log, ...(opts.effects ? { effects: opts.effects } : {}) });
  for (const t of [...replica.topics.inputs, ...replica.topics.outputs]) log.createTopic(t, opts.partitions);
  log.createTopic(replica.topics.campaigns, 1);
  return {
    replica,
    log,
    close: async () => {
      await replica.stop();
      await log.close();
      tmp.cleanup();
    },
  };
}

/** A JSON record keyed by `key`, as producers write them. */
export const jsonRecord = (key: string, value: unknown): AppendRecord => ({ key, value: JSON.stringify(value), headers: { 'content-type': 'application/json' } });

/**
 * Loads consenting users without quiet hours and an OTP campaign (transactional, hard
 * deadline, open for an hour either side of now), starts the replica and waits until it is
 * ready with the campaign in its table: what a test of the send path needs before its candidates.
 */
export async function startWithOtpCampaign(r: EmbeddedReplica, userIds: readonly string[]): Promise<void> {
  const { replica, log } = r;
  log.append(replica.topics.input('profiles'), userIds.map((id) => jsonRecord(id, indiaUser(id, { quietHours: null }))));
  const now = Date.now();
  log.append(replica.topics.campaigns, [jsonRecord('otp', campaign('otp', { kind: 'transactional', deadline: 'hard', window: { start: now - HOUR, end: now + HOUR } }))]);
  await replica.start();
  await waitFor(() => replica.ready && replica.campaigns.get('otp') !== undefined, 'the replica and its campaign', 10_000);
}
