import type { NudgeConfig } from '../config/schema.js';
import type { TopologyFactory } from '../processor/operator.js';
import { HeuristicScorer } from './decisions/heuristic-scorer.js';
import type { Scorer } from './decisions/scorer.js';
import { defaultScorer } from '../models/default-scorer.js';
import { decisionTopology } from './decisions/topology.js';
import { userCounterTopology } from './user-counter.js';

export interface TopologyParts {
  scorer?: Scorer;
}

/** The topology a replica runs, by name from the config; a fresh operator set per partition. */
export function topologyFor(config: NudgeConfig, parts: TopologyParts = {}): TopologyFactory {
  switch (config.processor.topology) {
    case 'counter':
      return () => userCounterTopology();
    case 'decisions': {
      // Without a scorer from the caller (cli/run.ts builds one with hot reload), the config's choice.
      const scorer = parts.scorer ?? defaultScorer(config, () => new HeuristicScorer());
      return () => decisionTopology(config, scorer);
    }
  }
}
