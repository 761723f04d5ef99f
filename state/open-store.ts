import { join } from 'node:path';
import type { StateConfig } from '../config/schema.js';
import { ConfigError } from '../errors/index.js';
import type { BytesStore } from './bytes-store.js';
import { LmdbStore } from './lmdb-store.js';
import { RocksDbStore } from './rocksdb-store.js';

/** Directory of one partition's store: the backend is in the name so that switching never reads the wrong files. */
export function partitionDir(config: Pick<StateConfig, 'dir' | 'backend'>, partition: number): string {
  return join(config.dir, `${config.backend}-p${partition}`);
}

/** The Stores factory: the only place that knows which engines exist. */
export async function openPartitionStore(config: StateConfig, partition: number): Promise<BytesStore> {
  const dir = partitionDir(config, partition);
  switch (config.backend) {
    case 'lmdb':
      return LmdbStore.open(dir, { fsync: config.fsync, mapSizeMb: config.mapSizeMb, partition });
    case 'rocksdb':
      // mapSizeMb is LMDB's alone; RocksDB sizes itself (see ENGINE_OPTIONS in rocksdb-store.ts).
      return RocksDbStore.open(dir, { fsync: config.fsync, partition });
    default:
      throw new ConfigError('state.backend', `backend "${String(config.backend)}" is not available in this build`, '"lmdb" | "rocksdb"');
  }
}
