import { Type, type Static } from '@sinclair/typebox';
import { CountryRulesSchema, PolicySchema } from './rules-schema.js';

/*
 * The one configuration schema: type, default and doc per key (Kafka Streams' ConfigDef).
 * Every other layer receives the validated, defaulted object; nothing reads the
 * environment or a file after start-up.
 */

const Millis = (def: number, description: string, min = 0) =>
  Type.Integer({ minimum: min, default: def, description });

/** A secret is never written inline in a file that may be committed: it names an env var or a file. */
export const SecretRef = Type.Union(
  [
    Type.Object({ env: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    Type.Object({ file: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    Type.String({ minLength: 1, description: 'inline value; only from flags or environment variables' }),
  ],
  { description: 'a secret: {"env":"NAME"}, {"file":"/path"} or, from the environment only, the value' },
);

export const TopicsSchema = Type.Object(
  {
    prefix: Type.String({ default: 'nudge.', description: 'prepended to every topic name' }),
    events: Type.String({ default: 'events' }),
    profiles: Type.String({ default: 'profiles' }),
    campaigns: Type.String({ default: 'campaigns' }),
    candidates: Type.String({ default: 'candidates' }),
    receipts: Type.String({ default: 'receipts' }),
    decisions: Type.String({ default: 'decisions' }),
    sends: Type.String({ default: 'sends' }),
    deadletter: Type.String({ default: 'deadletter' }),
    counts: Type.String({ default: 'user-counts', description: 'output of the reference per-user counter topology' }),
    changelog: Type.String({ default: 'state-changelog', description: 'compacted, partitioned like the inputs' }),
    replicas: Type.String({ default: 'replicas', description: 'compacted: which replica owns which partitions, and its HTTP address (for forwarding)' }),
  },
  { additionalProperties: false, default: {} },
);

export const KafkaSchema = Type.Object(
  {
    brokers: Type.Array(Type.String({ pattern: '^[^:,\\s]+:\\d{1,5}$' }), {
      default: [],
      description: 'bootstrap brokers as host:port; empty runs the embedded default',
    }),
    clientId: Type.String({ default: 'nudge', minLength: 1 }),
    groupId: Type.String({ default: 'nudge', minLength: 1, description: 'consumer group shared by all replicas' }),
    replicaId: Type.String({
      default: '',
      description: 'stable name of this replica (hostname of a StatefulSet pod); random when empty',
    }),
    sessionTimeoutMs: Millis(30_000, 'consumer group session timeout', 6_000),
    heartbeatIntervalMs: Millis(3_000, 'must be below sessionTimeoutMs / 3', 100),
    rebalanceTimeoutMs: Millis(60_000, 'time a member has to rejoin during a rebalance', 1_000),
    maxBytesPerPartition: Type.Integer({ minimum: 1024, default: 1_048_576 }),
    maxWaitTimeMs: Millis(200, 'longest a fetch waits for data', 0),
    partitionsConsumedConcurrently: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
    profilesFirstIdleMs: Millis(
      10_000,
      "a partition gained with a backlog of profiles reads them, up to their end (last stable offset) at that moment, before its other inputs; if the profiles stop advancing for this long short of that end, the others are read anyway. 0 turns the catch-up off",
    ),
    connectionTimeoutMs: Millis(3_000, 'TCP connect timeout', 100),
    requestTimeoutMs: Millis(30_000, 'broker request timeout', 1_000),
    ssl: Type.Boolean({ default: false }),
    sasl: Type.Optional(
      Type.Object(
        {
          mechanism: Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')]),
          username: Type.String({ minLength: 1 }),
          password: SecretRef,
        },
        { additionalProperties: false },
      ),
    ),
    autoCreateTopics: Type.Boolean({
      default: true,
      description: 'create missing topics at start-up with kafka.partitions partitions',
    }),
    partitions: Type.Integer({ minimum: 1, maximum: 10_000, default: 12, description: 'partition count for topics nudge creates' }),
    replicationFactor: Type.Integer({ minimum: 1, maximum: 7, default: 1 }),
  },
  { additionalProperties: false, default: {} },
);

export const EmbeddedSchema = Type.Object(
  {
    partitions: Type.Integer({ minimum: 1, maximum: 1024, default: 8, description: 'partitions of every embedded topic' }),
    inputs: Type.Array(
      Type.Object({ topic: Type.String({ minLength: 1 }), file: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
      { default: [], description: 'JSON-lines files appended to embedded topics at start-up' },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const StateSchema = Type.Object(
  {
    dir: Type.String({ default: '.nudge/state', minLength: 1, description: 'one sub-directory per partition' }),
    backend: Type.Union([Type.Literal('lmdb'), Type.Literal('rocksdb')], { default: 'lmdb' }),
    cacheEntries: Type.Integer({ minimum: 0, default: 50_000, description: 'decoded values kept per partition; 0 disables' }),
    fsync: Type.Boolean({
      default: false,
      description: 'fsync every commit; without it a process crash loses nothing, a power loss is repaired from the changelog',
    }),
    mapSizeMb: Type.Integer({ minimum: 16, default: 4096, description: 'LMDB initial map size per partition (grows)' }),
  },
  { additionalProperties: false, default: {} },
);

export const ProcessorSchema = Type.Object(
  {
    guarantee: Type.Union([Type.Literal('exactly_once'), Type.Literal('at_least_once')], { default: 'exactly_once' }),
    maxRecordBytes: Type.Integer({ minimum: 1024, default: 1_048_576, description: 'larger input values are dead-lettered' }),
    deadLetterValueBytes: Type.Integer({
      minimum: 0,
      default: 65_536,
      description: 'a dead letter keeps at most this many bytes of the raw value',
    }),
    maxBatchRecords: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 1000,
      description: 'records processed and committed together; bounds latency, memory and transaction size',
    }),
    maxRequestBytes: Type.Integer({
      minimum: 16_384,
      default: 900_000,
      description: 'a commit sends its records in requests of at most this size (below the broker message.max.bytes)',
    }),
    outputFormat: Type.Union([Type.Literal('json'), Type.Literal('msgpack')], { default: 'json' }),
    timerIntervalMs: Millis(250, 'how often due timers are looked for', 10),
    shutdownTimeoutMs: Millis(30_000, 'longest a graceful shutdown may take before the process exits', 1_000),
    effectsHighWater: Type.Integer({ minimum: 1, default: 5_000, description: 'sends queued or in flight per partition above which the partition stops fetching' }),
    effectsLowWater: Type.Integer({ minimum: 0, default: 1_000, description: '… and below which it fetches again' }),
    effectsConcurrency: Type.Integer({ minimum: 1, maximum: 10_000, default: 512, description: 'provider calls in flight per replica' }),
    outcomeLingerMs: Type.Integer({
      minimum: 0,
      maximum: 1_000,
      default: 5,
      description: 'how long the first provider answer of a partition waits for others before their outcomes are committed together (0: at once)',
    }),
    topology: Type.Union([Type.Literal('decisions'), Type.Literal('counter')], {
      default: 'decisions',
      description: 'the operators a replica runs: decisions is the product; counter is the reference per-user counter used by runtime tests and benchmarks',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const HttpSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8080, description: '0 disables the HTTP server' }),
    host: Type.String({ default: '0.0.0.0' }),
    token: Type.Optional(SecretRef),
    advertisedUrl: Type.String({ default: '', description: 'how other replicas reach this one (http://pod-0.nudge:8080); derived from the hostname when empty' }),
    forwardTimeoutMs: Type.Integer({ minimum: 10, default: 100, description: 'a forwarded eligibility request gives up after this (the budget is 150 ms)' }),
    maxBodyBytes: Type.Integer({ minimum: 256, default: 65_536 }),
  },
  { additionalProperties: false, default: {} },
);

export const ModelsSchema = Type.Object(
  {
    // Heuristic by default for replicas: the shipped model was trained on the simulator's world, and
    // a deployment should serve a model trained on its own decision log (nudge train). The demo,
    // which runs in that simulated world, serves the shipped model (models/README.md).
    scorer: Type.Union([Type.Literal('learned'), Type.Literal('heuristic')], {
      default: 'heuristic',
      description: "'heuristic' serves the transparent hand-set scorer; 'learned' serves the latest version of registryDir, or the model shipped in models/default (trained on the simulator) when registryDir is empty",
    }),
    registryDir: Type.String({ default: '', description: "model registry whose latest version is served when models.scorer is 'learned'; empty serves the shipped default model" }),
    chunkRows: Type.Integer({ minimum: 1, maximum: 8192, default: 512, description: "rows per TF.js predict call: the smallest batch within 15% of the measured peak (models/BATCH-SIZE.md), as TfjsScorer's own default" }),
    driftSampleEvery: Type.Integer({ minimum: 0, default: 16, description: 'feed one scored row in this many to the drift (PSI) tracker; 0 disables it' }),
    driftExportMs: Type.Integer({ minimum: 1000, default: 60_000, description: 'how often PSI per feature is exported as a metric' }),
    reloadMs: Type.Integer({ minimum: 1000, default: 30_000, description: 'how often the registry is checked for a newer version (served without a restart)' }),
    shadowCalls: Type.Integer({ minimum: 0, default: 0, description: 'scoring calls a new version runs in the shadow, its differences logged, before it is served; 0 serves it at once' }),
  },
  { additionalProperties: false, default: {} },
);

const ProviderType = Type.Union(['twilio', 'gupshup', 'msg91', 'fcm', 'apns'].map((t) => Type.Literal(t)));

export const DeliverySchema = Type.Object(
  {
    providers: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 64, description: 'unique; what sends records and metrics call it' }),
          type: ProviderType,
          baseUrl: Type.Optional(Type.String({ minLength: 1, description: "the provider's API; point at a test server by changing only this" })),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 100 })),
          /** Type-specific settings; credentials as {"env":…} or {"file":…} references. */
          settings: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), SecretRef, Type.Record(Type.String(), Type.Unknown())]), { default: {} }),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    routes: Type.Array(
      Type.Object(
        {
          country: Type.String({ pattern: '^([A-Z]{2}|\\*)$' }),
          channel: Type.Union([Type.Literal('sms'), Type.Literal('push')]),
          providers: Type.Array(
            Type.Object(
              {
                name: Type.String({ minLength: 1 }),
                pricePerSegment: Type.Number({ minimum: 0 }),
                ratePerSec: Type.Number({ exclusiveMinimum: 0 }),
                adaptiveMinRate: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'adapt the rate to 429s and latency, down to this' })),
              },
              { additionalProperties: false },
            ),
            { minItems: 1 },
          ),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'per country and channel, providers in order of preference; empty records sends without calling anyone' },
    ),
    campaignRates: Type.Record(Type.String({ minLength: 1 }), Type.Number({ minimum: 0 }), {
      default: {},
      description: "sends per second per campaign for the whole deployment (promotional and reminder messages; 0 holds them): the landing page's capacity",
    }),
    capacitySignal: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://', description: 'GET answers {"campaigns": {"<campaignId>": <sends per second>}}; it overrides campaignRates for the campaigns it names' }),
          token: Type.Optional(SecretRef),
          intervalMs: Type.Integer({ minimum: 100, default: 5_000 }),
          timeoutMs: Type.Integer({ minimum: 100, default: 2_000 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const LogSchema = Type.Object(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    topics: TopicsSchema,
    kafka: KafkaSchema,
    embedded: EmbeddedSchema,
    state: StateSchema,
    processor: ProcessorSchema,
    http: HttpSchema,
    log: LogSchema,
    policy: PolicySchema,
    models: ModelsSchema,
    delivery: DeliverySchema,
    /** Per-country rules merged over the shipped defaults (config/default-countries.ts); key `default` for the rest. */
    countries: Type.Record(Type.String({ pattern: '^([A-Z]{2}|default)$' }), Type.Partial(CountryRulesSchema), { default: {} }),
  },
  { additionalProperties: false },
);

export type SecretRefValue = Static<typeof SecretRef>;
export type NudgeConfig = Static<typeof ConfigSchema>;
export type TopicsConfig = Static<typeof TopicsSchema>;
export type KafkaConfig = Static<typeof KafkaSchema>;
export type StateConfig = Static<typeof StateSchema>;
export type ProcessorConfig = Static<typeof ProcessorSchema>;
export type LogLevel = NudgeConfig['log']['level'];
