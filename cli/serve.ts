import { hostname } from 'node:os';
import type { NudgeConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { createKafka } from '../processor/kafka/client.js';
import { KafkaDirectory, LocalDirectory, type Directory } from '../processor/kafka/directory.js';
import type { Logger } from '../processor/logger.js';
import type { Replica } from '../processor/replica.js';
import { ReplicaBinding } from '../http/replica-binding.js';
import { startHttpServer } from '../http/server.js';
import { buildDashboardHtml } from '../http/dashboard/index.js';

export interface Serving {
  port: number | undefined;
  binding: ReplicaBinding;
  stop(): Promise<void>;
}

/**
 * The replica's HTTP side: the API and dashboard (when http.port > 0) and, on Kafka, its
 * entry in the replica directory so that other replicas can forward to it.
 */
export async function serve(replica: Replica, config: NudgeConfig, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Serving> {
  const token = resolveSecret('http.token', config.http.token, env);
  let directory: Directory = new LocalDirectory();
  const binding = (d: Directory) => new ReplicaBinding(replica, { directory: d, token, forwardTimeoutMs: config.http.forwardTimeoutMs });
  if (config.http.port === 0) return { port: undefined, binding: binding(directory), stop: async () => undefined };
  // The directory object is created first so the binding forwards through it; it starts once the port is known.
  let kafkaDirectory: KafkaDirectory | undefined;
  const api = binding({ ownerOf: (p) => directory.ownerOf(p), announce: async (ps) => directory.announce(ps), stop: async () => directory.stop() });
  const server = await startHttpServer({
    api,
    host: config.http.host,
    port: config.http.port,
    token,
    maxBodyBytes: config.http.maxBodyBytes,
    log: log.child({ component: 'http' }),
    dashboardHtml: buildDashboardHtml(),
  });
  if (config.kafka.brokers.length > 0) {
    const url = config.http.advertisedUrl || `http://${hostname()}:${server.port}`;
    kafkaDirectory = new KafkaDirectory({ kafka: createKafka(config, log, env), topic: replica.topics.replicas, groupId: config.kafka.groupId, replicaId: replica.id, url, log: log.child({ component: 'directory' }) });
    await kafkaDirectory.start();
    directory = kafkaDirectory;
    const announce = (partitions: number[]) => void kafkaDirectory?.announce(partitions).catch((err: unknown) => log.warn({ err: String(err) }, 'directory announcement failed'));
    replica.on('assignment', announce);
    announce([...replica.tasks.keys()]);
  }
  return {
    port: server.port,
    binding: api,
    stop: async () => {
      server.close();
      await kafkaDirectory?.stop();
    },
  };
}
