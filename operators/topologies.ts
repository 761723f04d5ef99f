import type { NudgeConfig } from '../config/schema.js';
import type { TopologyFactory } from '../processor/operator.js';
import { userCounterTopology } from './user-counter.js';

/** The topology a replica runs, by name from the config. */
export function topologyFor(config: NudgeConfig): TopologyFactory {
  switch (config.processor.topology) {
    case 'counter':
      return () => userCounterTopology();
  }
}
