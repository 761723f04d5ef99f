import { AssignerProtocol, type Assigner, type PartitionAssigner } from 'kafkajs';

export const ASSIGNER_NAME = 'nudge-copartitioned';

interface MemberInfo {
  /** Partition numbers the member owns now: kept where possible so that state does not move. */
  owned: number[];
}

/**
 * Assigns partition numbers, not topic-partitions: partition N of every subscribed topic
 * goes to one member, so a user's events, profile, candidates and receipts meet in one
 * task (kafkajs' round-robin assigner would scatter them). Sticky: each member keeps
 * what it owns up to its fair share, and only the rest moves.
 */
export function coPartitionedAssigner(current: () => MemberInfo): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: ASSIGNER_NAME,
    version: 1,
    protocol({ topics }) {
      return {
        name: ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(current())) }),
      };
    },
    async assign({ members, topics }) {
      const counts = topics.map((t) => cluster.findTopicPartitionMetadata(t).length);
      const partitions = Math.min(...counts);
      const owned = new Map<string, number[]>();
      for (const m of members) {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        owned.set(m.memberId, parseOwned(meta?.userData));
      }
      const plan = planAssignment(
        members.map((m) => m.memberId),
        partitions,
        owned,
      );
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: Object.fromEntries(topics.map((t) => [t, plan.get(m.memberId) ?? []])),
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}

/** Pure planning, exported for tests: member → partition numbers. */
export function planAssignment(memberIds: string[], partitions: number, owned: Map<string, number[]>): Map<string, number[]> {
  const members = [...memberIds].sort();
  const plan = new Map<string, number[]>(members.map((m) => [m, []]));
  if (members.length === 0) return plan;
  const base = Math.floor(partitions / members.length);
  let extra = partitions % members.length;
  const quota = new Map<string, number>();
  // Members that already own the most get the spare slots first, so fewer partitions move.
  const byOwned = [...members].sort((a, b) => (owned.get(b)?.length ?? 0) - (owned.get(a)?.length ?? 0) || a.localeCompare(b));
  for (const m of byOwned) quota.set(m, base + (extra-- > 0 ? 1 : 0));
  const taken = new Set<number>();
  for (const m of members) {
    const mine = plan.get(m) as number[];
    for (const p of owned.get(m) ?? []) {
      if (p < partitions && !taken.has(p) && mine.length < (quota.get(m) as number)) {
        mine.push(p);
        taken.add(p);
      }
    }
  }
  const free = Array.from({ length: partitions }, (_, p) => p).filter((p) => !taken.has(p));
  for (const m of members) {
    const mine = plan.get(m) as number[];
    while (mine.length < (quota.get(m) as number) && free.length > 0) mine.push(free.shift() as number);
    mine.sort((a, b) => a - b);
  }
  return plan;
}

function parseOwned(userData: Buffer | undefined | null): number[] {
  if (userData === undefined || userData === null || userData.length === 0) return [];
  try {
    const info = JSON.parse(userData.toString('utf8')) as Partial<MemberInfo>;
    return Array.isArray(info.owned) ? info.owned.filter((p): p is number => Number.isInteger(p) && p >= 0) : [];
  } catch {
    return [];
  }
}
