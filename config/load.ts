import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import { Kind, KindGuard, type TSchema } from '@sinclair/typebox';
import { ConfigError } from '../errors/index.js';
import { ConfigSchema, type NudgeConfig } from './schema.js';

/** Values that may come from flags or environment variables, as dotted keys. */
export type Overrides = Record<string, unknown>;

/**
 * Environment variables nudge reads, mapped to config keys. Only these: a typo'd
 * NUDGE_ variable is reported rather than ignored.
 */
export const ENV_KEYS: Record<string, string> = {
  NUDGE_KAFKA_BROKERS: 'kafka.brokers',
  NUDGE_KAFKA_GROUP_ID: 'kafka.groupId',
  NUDGE_KAFKA_CLIENT_ID: 'kafka.clientId',
  NUDGE_REPLICA_ID: 'kafka.replicaId',
  NUDGE_TOPIC_PREFIX: 'topics.prefix',
  NUDGE_STATE_DIR: 'state.dir',
  NUDGE_STATE_BACKEND: 'state.backend',
  NUDGE_GUARANTEE: 'processor.guarantee',
  NUDGE_HTTP_PORT: 'http.port',
  NUDGE_HTTP_TOKEN: 'http.token',
  NUDGE_LOG_LEVEL: 'log.level',
  NUDGE_EMBEDDED_PARTITIONS: 'embedded.partitions',
  NUDGE_TOPOLOGY: 'processor.topology',
};

/** NUDGE_ variables that are not settings (read by tools around the processor, not by it). */
const ENV_NOT_SETTINGS = new Set(['NUDGE_CONFIG', 'NUDGE_DEBUG', 'NUDGE_KAFKA_CACHE', 'NUDGE_KEEP_KAFKA_DATA', 'NUDGE_REPO_ROOT', 'NUDGE_TEST_DEADLINE_MS']);

export interface LoadOptions {
  /** Path of a config file: JSON, or YAML when it ends in .yaml or .yml. */
  file?: string | undefined;
  /** Parsed object, instead of or on top of the file. */
  object?: Record<string, unknown> | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Dotted keys from command-line flags; they win over everything. */
  flags?: Overrides | undefined;
}

export function loadConfig(options: LoadOptions = {}): NudgeConfig {
  let raw: Record<string, unknown> = {};
  if (options.file !== undefined) {
    raw = readConfigFile(options.file);
    refuseInlineSecrets(raw);
  }
  if (options.object !== undefined) raw = deepMerge(raw, structuredClone(options.object));
  for (const [key, value] of Object.entries(envOverrides(options.env ?? {}))) setPath(raw, key, value);
  for (const [key, value] of Object.entries(options.flags ?? {})) {
    if (value !== undefined) setPath(raw, key, value);
  }
  return validateConfig(raw);
}

/** Defaults, conversion of strings from env/flags, validation and cross-field rules. */
export function validateConfig(raw: Record<string, unknown>): NudgeConfig {
  const value = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, structuredClone(raw)));
  const first = Value.Errors(ConfigSchema, value).First();
  if (first !== undefined) {
    const key = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    const extra = unknownKey(first.schema, first.value);
    if (extra !== undefined) {
      throw new ConfigError(key === '(root)' ? extra.key : `${key}.${extra.key}`, 'unknown setting', extra.allowed);
    }
    throw new ConfigError(key, `${first.message}, got ${JSON.stringify(first.value)}`, describeAllowed(first.schema));
  }
  const config = value as NudgeConfig;
  crossFieldRules(config);
  return config;
}

function crossFieldRules(config: NudgeConfig): void {
  const { heartbeatIntervalMs, sessionTimeoutMs } = config.kafka;
  // kafkajs and the broker both expect at least three heartbeats per session timeout.
  if (heartbeatIntervalMs * 3 > sessionTimeoutMs) {
    throw new ConfigError(
      'kafka.heartbeatIntervalMs',
      `${heartbeatIntervalMs} is more than a third of kafka.sessionTimeoutMs (${sessionTimeoutMs})`,
      `an integer ≤ ${Math.floor(sessionTimeoutMs / 3)}`,
    );
  }
  const t = config.topics;
  const names = [t.events, t.profiles, t.campaigns, t.candidates, t.receipts, t.decisions, t.sends, t.deadletter, t.counts, t.changelog, t.replicas];
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new ConfigError('topics', `topic name "${name}" is used twice`, 'distinct topic names');
    seen.add(name);
  }
}

/**
 * The secrets among the settings (SecretRef), by path. A config file is read by many and often
 * committed, so there a secret is a reference ({"env": …} or {"file": …}); the value itself comes
 * only from a flag or an environment variable. (Provider credentials are checked by cli/sinks.ts.)
 */
const SECRET_PATHS = ['http.token', 'kafka.sasl.password', 'delivery.capacitySignal.token'];

function refuseInlineSecrets(raw: Record<string, unknown>): void {
  for (const path of SECRET_PATHS) {
    let v: unknown = raw;
    for (const part of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    if (typeof v === 'string') throw new ConfigError(path, 'a secret is written inline in the config file', '{"env":"NAME"} or {"file":"/path"} (the value itself only from a flag or an environment variable)');
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${file}`, 'a readable JSON file', { cause: err });
  }
  const yaml = /\.ya?ml$/i.test(file);
  let parsed: unknown;
  try {
    parsed = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError('--config', `${file} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`, yaml ? 'a YAML mapping' : 'a JSON object', { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('--config', `${file} does not hold ${yaml ? 'a mapping' : 'an object'}`, yaml ? 'a YAML mapping' : 'a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function envOverrides(env: NodeJS.ProcessEnv): Overrides {
  const out: Overrides = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('NUDGE_') || value === undefined) continue;
    const key = ENV_KEYS[name];
    if (key === undefined) {
      if (ENV_NOT_SETTINGS.has(name)) continue;
      throw new ConfigError(name, 'unknown environment variable', Object.keys(ENV_KEYS).join(', '));
    }
    out[key] = key === 'kafka.brokers' ? splitList(value) : value;
  }
  return out;
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && prev !== null && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function unknownKey(schema: TSchema, value: unknown): { key: string; allowed: string } | undefined {
  if (!KindGuard.IsObject(schema) || value === null || typeof value !== 'object') return undefined;
  const props = Object.keys(schema.properties);
  const extra = Object.keys(value).find((k) => !props.includes(k));
  return extra === undefined ? undefined : { key: extra, allowed: props.join(', ') };
}

/** What a schema accepts, in words, for error messages. */
export function describeAllowed(schema: TSchema): string {
  if (KindGuard.IsUnion(schema)) {
    const members = schema.anyOf;
    if (members.every((m) => m[Kind] === 'Literal')) return members.map((m) => JSON.stringify(m.const)).join(' | ');
    return members.map(describeAllowed).join(' or ');
  }
  if (KindGuard.IsArray(schema)) return `a list of ${describeAllowed(schema.items)}`;
  if (KindGuard.IsObject(schema)) return `an object with keys ${Object.keys(schema.properties).join(', ')}`;
  switch (schema[Kind]) {
    case 'Literal':
      return JSON.stringify(schema.const);
    case 'Integer':
    case 'Number': {
      const kind = schema[Kind] === 'Integer' ? 'an integer' : 'a number';
      const lo = schema.minimum as number | undefined;
      const hi = schema.maximum as number | undefined;
      if (lo !== undefined && hi !== undefined) return `${kind} from ${lo} to ${hi}`;
      if (lo !== undefined) return `${kind} ≥ ${lo}`;
      if (hi !== undefined) return `${kind} ≤ ${hi}`;
      return kind;
    }
    case 'String':
      return schema.pattern !== undefined ? `a string matching ${schema.pattern as string}` : 'a non-empty string';
    case 'Boolean':
      return 'true | false';
    default:
      return schema.description ?? 'see the configuration reference';
  }
}
