import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The processor's metrics, declared in one place. One registry per replica (not the
 * global default) so that two replicas in one process, as in tests, do not collide.
 */
export class ProcessorMetrics {
  readonly registry: Registry;
  readonly recordsIn: Counter<'topic' | 'partition'>;
  readonly deadLetters: Counter<'code' | 'topic'>;
  readonly campaignsRejected: Counter<'code'>;
  readonly outputs: Counter<'topic'>;
  readonly batchSeconds: Histogram<'kind'>;
  readonly batchRecords: Histogram<'kind'>;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly assignedPartitions: Gauge;
  readonly partitionReady: Gauge<'partition'>;
  readonly stateBytes: Gauge<'partition'>;
  readonly restoreRecords: Counter<'partition'>;
  readonly restoreRemaining: Gauge<'partition'>;
  readonly timersFired: Counter;
  readonly commits: Counter<'kind' | 'outcome'>;
  readonly paused: Gauge<'partition'>;
  readonly profilesCatchUp: Gauge<'partition'>;
  readonly decisions: Counter<'action' | 'reason'>;
  readonly sends: Counter<'provider' | 'status'>;
  readonly providerCost: Counter<'provider' | 'channel'>;
  readonly providerLatency: Histogram<'provider'>;
  readonly scoringBatch: Histogram;
  readonly scoringSeconds: Histogram;
  readonly tfjsBackend: Gauge<'backend'>;
  readonly featurePsi: Gauge<'feature'>;

  constructor(registry = new Registry(), options: { defaultMetrics?: boolean } = {}) {
    this.registry = registry;
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: registry, prefix: 'nudge_' });
      // prom-client names some gauges *_total (active handles, requests), which promtool's
      // linter rejects: only counters may end in _total. They are dropped, not renamed.
      for (const m of registry.getMetricsAsArray()) {
        if (m.name.endsWith('_total') && !(m instanceof Counter)) registry.removeSingleMetric(m.name);
      }
    }
    const r = [registry];
    this.recordsIn = new Counter({ name: 'nudge_records_in_total', help: 'Input records read, by topic and partition', labelNames: ['topic', 'partition'], registers: r });
    this.deadLetters = new Counter({ name: 'nudge_deadletters_total', help: 'Records sent to the dead-letter topic, by error code', labelNames: ['code', 'topic'], registers: r });
    // Every replica reads the whole campaigns topic, so a bad campaign is counted by each rather
    // than dead-lettered once per replica.
    this.campaignsRejected = new Counter({ name: 'nudge_campaigns_rejected_total', help: 'Campaign records refused (not applied to the campaign table), by error code', labelNames: ['code'], registers: r });
    this.outputs = new Counter({ name: 'nudge_records_out_total', help: 'Output records committed, by topic', labelNames: ['topic'], registers: r });
    this.batchSeconds = new Histogram({
      name: 'nudge_batch_duration_seconds',
      help: 'Time to process and commit one batch',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.batchRecords = new Histogram({
      name: 'nudge_batch_records',
      help: 'Records per processed batch',
      labelNames: ['kind'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: r,
    });
    this.consumerLag = new Gauge({ name: 'nudge_consumer_lag', help: 'High watermark minus next offset to process', labelNames: ['topic', 'partition'], registers: r });
    this.assignedPartitions = new Gauge({ name: 'nudge_assigned_partitions', help: 'Partitions this replica owns', registers: r });
    this.partitionReady = new Gauge({ name: 'nudge_partition_ready', help: '1 when the partition is restored and running', labelNames: ['partition'], registers: r });
    this.stateBytes = new Gauge({ name: 'nudge_state_bytes', help: 'Size of the partition store on disk', labelNames: ['partition'], registers: r });
    this.restoreRecords = new Counter({ name: 'nudge_restore_records_total', help: 'Changelog records restored', labelNames: ['partition'], registers: r });
    this.restoreRemaining = new Gauge({ name: 'nudge_restore_remaining_records', help: 'Changelog records still to restore', labelNames: ['partition'], registers: r });
    this.timersFired = new Counter({ name: 'nudge_timers_fired_total', help: 'Durable timers fired', registers: r });
    this.commits = new Counter({ name: 'nudge_commits_total', help: 'Batch commits by kind and outcome', labelNames: ['kind', 'outcome'], registers: r });
    this.paused = new Gauge({ name: 'nudge_partition_paused', help: '1 while a partition is paused for backpressure', labelNames: ['partition'], registers: r });
    this.profilesCatchUp = new Gauge({ name: 'nudge_profiles_catch_up', help: '1 while a gained partition reads its profiles backlog before its other inputs (Kafka)', labelNames: ['partition'], registers: r });
    // One series per decision: the first reason (or "none"), so summing by action does not double-count.
    this.decisions = new Counter({ name: 'nudge_decisions_total', help: 'Decisions committed, by action and first reason', labelNames: ['action', 'reason'], registers: r });
    this.sends = new Counter({ name: 'nudge_sends_total', help: 'Provider attempt outcomes committed, by provider and status', labelNames: ['provider', 'status'], registers: r });
    // The bill as it accrues: a campaign's budget counts the policy's estimate, this what the providers charge.
    this.providerCost = new Counter({ name: 'nudge_provider_cost_total', help: 'What providers charge for the messages they took (providerCost of sent records), by provider and channel', labelNames: ['provider', 'channel'], registers: r });
    this.providerLatency = new Histogram({
      name: 'nudge_provider_latency_seconds',
      help: 'Provider request latency',
      labelNames: ['provider'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    // Up to 65,536 rows and 2.5 s: a batch's prefetch call carries every row of its candidates (thousands).
    this.scoringBatch = new Histogram({ name: 'nudge_scoring_batch_size', help: 'Rows per scoring call', buckets: [1, 8, 32, 64, 128, 256, 512, 1024, 4096, 16_384, 65_536], registers: r });
    this.scoringSeconds = new Histogram({ name: 'nudge_scoring_seconds', help: 'Time per scoring call', buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r });
    this.tfjsBackend = new Gauge({ name: 'nudge_tfjs_backend', help: '1 for the TensorFlow.js backend in use', labelNames: ['backend'], registers: r });
    this.featurePsi = new Gauge({ name: 'nudge_feature_psi', help: 'Population stability index of each feature against the training baseline', labelNames: ['feature'], registers: r });
  }
}
