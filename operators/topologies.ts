import type { NudgeConfig } from '../config/schema.js';
import type { TopologyFactory } from '../processor/operator.js';
import { HeuristicScorer } from './decisions/heuristic-scorer.js';
import type { Scorer } from './decisions/scorer.js';
import { decisionTopology } from './decisions/topology.js';
import { RecordingDispatcher, type Dispatcher } from './sinks/dispatcher.js';
import { userCounterTopology } from './user-counter.js';

export interface TopologyParts {
  scorer?: Scorer;
  dispatcher?: Dispatcher;
}

/** The topology a replica runs, by name from the config; a fresh operator set per partition. */
export function topologyFor(config: NudgeConfig, parts: TopologyParts = {}): TopologyFactory {
  switch (config.processor.topology) {
    case 'counter':
      return () => userCounterTopology();
    case 'decisions': {
      const scorer = parts.scorer ?? new HeuristicScorer();
      const dispatcher = parts.dispatcher ?? new RecordingDispatcher();
      return () => decisionTopology(config, scorer, dispatcher);
    }
  }
}
