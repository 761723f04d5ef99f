import { accessSync, constants, readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import type { NudgeConfig } from '../config/schema.js';
import { INPUT_ROLES } from '../processor/record.js';

/** The roles a producer writes: the input topics, and the campaigns table. */
const ROLES: readonly string[] = [...INPUT_ROLES, 'campaigns'];

/**
 * The topic a producer means by `name`: a role (`events`) or the topic's full name
 * (`nudge.events`). Anything else is refused: records written to a topic nothing reads
 * would be dropped without a word.
 */
export function inputTopic(config: NudgeConfig, name: string, setting: string): string {
  const full = (role: string) => config.topics.prefix + (config.topics as unknown as Record<string, string>)[role];
  if (ROLES.includes(name)) return full(name);
  if (ROLES.some((role) => full(role) === name)) return name;
  throw new ConfigError(setting, `unknown topic "${name}"`, `${ROLES.join(', ')}, or their full names (${ROLES.map(full).join(', ')})`);
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
