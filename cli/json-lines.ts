import { ConfigError } from '../errors/index.js';
import type { AppendRecord } from '../processor/embedded/log.js';

/**
 * JSON lines → records keyed by `keyField`. A line that is not JSON is still written
 * (as its raw text, with no key) so that the processor dead-letters it with a reason:
 * nothing is dropped on the way in.
 */
export function parseJsonLines(text: string, keyField: string): AppendRecord[] {
  const records: AppendRecord[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    let key: string | null = null;
    try {
      const value = JSON.parse(trimmed) as Record<string, unknown> | null;
      const k = value !== null && typeof value === 'object' ? value[keyField] : undefined;
      key = typeof k === 'string' ? k : null;
    } catch {
      key = null;
    }
    records.push({ key, value: trimmed, headers: { 'content-type': 'application/json' } });
    if (records.length > 50_000_000) throw new ConfigError('file', `more than 50M lines at line ${i + 1}`, 'split the file');
  }
  return records;
}
