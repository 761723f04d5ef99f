import type { NudgeConfig } from '../../config/schema.js';
import type { Topology } from '../../processor/operator.js';
import { DecisionOperator } from './decision-operator.js';
import type { Scorer } from './scorer.js';
import { DECISION_STORES } from './stores.js';

export function decisionTopology(config: Pick<NudgeConfig, 'policy' | 'countries'>, scorer: Scorer): Topology {
  return {
    stores: Object.values(DECISION_STORES),
    operators: [new DecisionOperator({ config, scorer })],
  };
}
