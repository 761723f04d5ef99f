import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import type { SecretRefValue } from './schema.js';

/**
 * Resolves a secret reference once, at start-up. The value is returned to the caller
 * and never stored back into the config object, so logging the config cannot leak it.
 */
export function resolveSecret(key: string, ref: SecretRefValue | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (ref === undefined) return undefined;
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new ConfigError(key, `environment variable ${ref.env} is not set`, 'a set, non-empty environment variable');
    }
    return value;
  }
  try {
    return readFileSync(ref.file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(key, `cannot read secret file ${ref.file}`, 'a readable file', { cause: err });
  }
}
