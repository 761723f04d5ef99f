import type { Kafka } from 'kafkajs';

export interface SteadyProducer {
  /** Events acknowledged by the broker, per user. */
  readonly sent: Map<string, number>;
  /** Sends that failed and were retried (each may or may not have been written). */
  readonly failures: number;
  /** Total acknowledged events so far. */
  readonly total: number;
  /** Stops after the send in flight (retried until acknowledged); resolves with the total. */
  stop(): Promise<number>;
}

/**
 * Produces user events at a fixed pace (a tenth of `perSecond` every 100 ms) until stopped,
 * keyed by userId as the processor expects. Idempotent: a request retried inside kafkajs is
 * never written twice. A send that fails outright (e.g. the broker is down for longer than
 * kafkajs retries) is retried with the same messages on the same producer until it is
 * acknowledged, so the producer rides out a broker restart.
 */
export function steadyProducer(kafka: Kafka, topic: string, perSecond: number, users: number, tsBase = 1_763_712_000_000): SteadyProducer {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2_000 } });
  const sent = new Map<string, number>();
  let running = true;
  let seq = 0;
  let failures = 0;
  let total = 0;
  const done = (async () => {
    await producer.connect();
    while (running) {
      const t0 = Date.now();
      const batch = Array.from({ length: Math.ceil(perSecond / 10) }, () => {
        const userId = `user-${seq % users}`;
        seq++;
        return { userId, message: { key: userId, value: JSON.stringify({ userId, ts: tsBase + seq, type: seq % 3 === 0 ? 'click' : 'view' }) } };
      });
      const firstTry = Date.now();
      for (;;) {
        try {
          await producer.send({ topic, messages: batch.map((b) => b.message), acks: -1 });
          break;
        } catch (err) {
          failures++;
          // Once stopped, give up after a minute rather than hang a test's clean-up.
          if (!running && Date.now() - firstTry > 60_000) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      for (const b of batch) sent.set(b.userId, (sent.get(b.userId) ?? 0) + 1);
      total += batch.length;
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - t0))));
    }
  })().finally(() => producer.disconnect().catch(() => undefined));
  return {
    sent,
    get failures() {
      return failures;
    },
    get total() {
      return total;
    },
    stop: async () => {
      running = false;
      await done;
      return total;
    },
  };
}
