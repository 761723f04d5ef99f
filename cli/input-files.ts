import { accessSync, constants, readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import type { NudgeConfig } from '../config/schema.js';
import { INPUT_ROLES, OUTPUT_ROLES } from '../processor/record.js';
import { TopicNames } from '../processor/topic-names.js';

/** Every role's topic: the inputs, the campaigns table and the outputs, in that order. */
export function topicsByRole(config: NudgeConfig): Map<string, string> {
  const names = new TopicNames(config.topics);
  return new Map<string, string>([...INPUT_ROLES.map((r) => [r, names.input(r)] as const), ['campaigns', names.campaigns], ...OUTPUT_ROLES.map((r) => [r, names.output(r)] as const)]);
}

/**
 * The topic a producer means by `name`: a role (`events`) or the topic's full name
 * (`nudge.events`), of an input or the campaigns table. Anything else is refused: records
 * written to a topic nothing reads would be dropped without a word.
 */
export function inputTopic(config: NudgeConfig, name: string, setting: string): string {
  const writable = new Map([...topicsByRole(config)].filter(([role]) => !(OUTPUT_ROLES as readonly string[]).includes(role)));
  const topic = writable.get(name) ?? ([...writable.values()].includes(name) ? name : undefined);
  if (topic !== undefined) return topic;
  throw new ConfigError(setting, `unknown topic "${name}"`, `${[...writable.keys()].join(', ')}, or their full names (${[...writable.values()].join(', ')})`);
}

/** A JSON-lines file's text, or standard input's for `-`; a file that cannot be read is a usage error naming `setting`. */
export function readInputText(file: string, setting: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : code === 'EACCES' ? 'not readable' : (err as Error).message;
    throw new ConfigError(setting, `cannot read ${file === '-' ? 'standard input' : file}: ${what}`, 'a readable JSON-lines file, or - for standard input', { cause: err });
  }
}

/** Fails with a usage error naming `setting` unless `path` can be read (`what` says what it should be). */
export function requireReadable(path: string, setting: string, what: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new ConfigError(setting, `cannot read ${path}`, what, { cause: err });
  }
}
