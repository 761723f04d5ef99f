import type { UserEvent } from '../processor/messages/index.js';
import type { Operator, OperatorContext, Topology } from '../processor/operator.js';
import type { InputRecord } from '../processor/record.js';

export interface UserCount {
  n: number;
  byType: Record<string, number>;
  first: number;
  last: number;
}

export const COUNTS_STORE = { name: 'counts', namespace: 0x10 } as const;

/**
 * The reference topology of the runtime: counts each user's events by type and emits
 * the running count. Tests, the benchmark and the Kafka Streams peer all run this
 * same shape, so their figures compare like with like.
 */
export class UserCounter implements Operator {
  readonly name = 'user-counter';
  readonly inputs = ['events'] as const;

  async process(record: InputRecord, ctx: OperatorContext): Promise<void> {
    const event = record.value as UserEvent;
    const store = ctx.store<UserCount>(COUNTS_STORE.name);
    const count = (await store.get([record.key])) ?? { n: 0, byType: {}, first: event.ts, last: event.ts };
    count.n++;
    count.byType[event.type] = (count.byType[event.type] ?? 0) + 1;
    count.last = Math.max(count.last, event.ts);
    store.put([record.key], count);
    // The source coordinates let a consumer check that no input was skipped or counted twice.
    ctx.forward({ role: 'counts', key: record.key, value: { userId: record.key, count: count.n, type: event.type, ts: event.ts, partition: record.partition, offset: record.offset } });
  }
}

export function userCounterTopology(): Topology {
  return { stores: [COUNTS_STORE], operators: [new UserCounter()] };
}
