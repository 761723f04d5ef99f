import { NO_FAULTS, parseFaults, type Faults } from './faults.js';
import type { AcceptedMessage, FakeRequest, FakeResponse } from './types.js';

/** What the control API drives: the FakeServer (an interface here so the two files do not import each other). */
export interface ControllableFake {
  readonly spec: { readonly name: string; readonly errors: Readonly<Record<string, unknown>> };
  readonly faults: Readonly<Faults>;
  readonly stats: unknown;
  readonly messages: readonly AcceptedMessage[];
  setFaults(f: Partial<Faults>): void;
  reset(): void;
  failRecipient(recipient: string, errorClass: string | null): void;
  outage(mode: 'refuse' | 'unavailable', forMs?: number): void;
  recover(): void;
}

/**
 * The fault-injection control API of every fake, under `/__fake/`: for the demo and benchmarks
 * driving a fake from another process. GET state, PUT (replace) / PATCH (merge) faults,
 * POST reset, GET messages[?recipient=], POST recipients {recipient, error|null},
 * POST outage {mode: "refuse"|"unavailable"|null, forMs?}.
 */
export function controlResponse(fake: ControllableFake, req: FakeRequest): FakeResponse {
  const json = (status: number, v: unknown): FakeResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(v) });
  try {
    const body = req.body.length > 0 ? (JSON.parse(req.body.toString('utf8')) as unknown) : {};
    const action = `${req.method} ${req.path}`;
    switch (action) {
      case 'GET /__fake/state':
        return json(200, { provider: fake.spec.name, faults: fake.faults, stats: fake.stats, errorClasses: Object.keys(fake.spec.errors) });
      case 'PUT /__fake/faults':
        fake.setFaults({ ...NO_FAULTS, ...parseFaults(body, Object.keys(fake.spec.errors)) });
        return json(200, fake.faults);
      case 'PATCH /__fake/faults':
        fake.setFaults(parseFaults(body, Object.keys(fake.spec.errors)));
        return json(200, fake.faults);
      case 'POST /__fake/reset':
        fake.reset();
        return json(200, { ok: true });
      case 'GET /__fake/messages': {
        const r = req.query.get('recipient');
        return json(200, r === null ? fake.messages.slice(-1000) : fake.messages.filter((m) => m.recipient === r));
      }
      case 'POST /__fake/recipients': {
        const b = body as { recipient?: unknown; error?: unknown };
        if (typeof b.recipient !== 'string' || !(b.error === null || typeof b.error === 'string')) return json(400, { error: 'need {recipient: string, error: string | null}' });
        fake.failRecipient(b.recipient, b.error);
        return json(200, { ok: true });
      }
      case 'POST /__fake/outage': {
        const b = body as { mode?: unknown; forMs?: unknown };
        if (b.mode === null) fake.recover();
        else if (b.mode === 'refuse' || b.mode === 'unavailable') fake.outage(b.mode, typeof b.forMs === 'number' ? b.forMs : undefined);
        else return json(400, { error: 'mode must be "refuse", "unavailable" or null' });
        return json(200, fake.faults);
      }
      default:
        return json(404, { error: `no control action ${action}` });
    }
  } catch (err) {
    return json(400, { error: err instanceof Error ? err.message : String(err) });
  }
}
