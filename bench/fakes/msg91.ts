import { randomBytes } from 'node:crypto';
import { FakeServer, type FakeContext, type FakeRequest, type FakeResponse, type FakeServerOptions, type FakeSpec } from './server.js';

export interface Msg91FakeOptions extends FakeServerOptions {
  authkey: string;
  /** Flow id → number of variables its template has (VAR1..VARn must all be sent). */
  flows: Record<string, number>;
}

const json = (status: number, v: unknown): FakeResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(v) });
const error = (status: number, message: string): FakeResponse => json(status, { type: 'error', message });

/** A fake of MSG91 `POST /api/v5/flow` (one recipient per request checked field by field). */
export function msg91Spec(opts: Msg91FakeOptions): FakeSpec {
  const errors = {
    auth: () => error(401, 'Authentication failure'),
    invalid_mobile: () => error(400, 'Mobile number is invalid'),
    template: () => error(400, 'Template ID is invalid'),
    throttled: () => error(429, 'Too many requests'),
    server_error: () => error(500, 'Internal server error'),
    unavailable: () => error(503, 'Service unavailable'),
  };

  return {
    name: 'msg91',
    errors,
    isSend: (req) => req.path === '/api/v5/flow' || req.path === '/api/v5/flow/',
    throttled: errors.throttled,
    unavailable: errors.unavailable,
    handle(req: FakeRequest, ctx: FakeContext): FakeResponse {
      if (req.method !== 'POST') return error(405, 'Method not allowed');
      if (req.headers['authkey'] !== opts.authkey) return errors.auth();
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return error(400, 'Content-Type must be application/json');
      let body: unknown;
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return error(400, 'Invalid JSON');
      }
      if (typeof body !== 'object' || body === null) return error(400, 'Invalid JSON');
      const b = body as Record<string, unknown>;
      const flow = b['template_id'];
      if (typeof flow !== 'string' || !(flow in opts.flows)) return errors.template();
      if (b['short_url'] !== undefined && b['short_url'] !== '0' && b['short_url'] !== '1') return error(400, 'short_url must be "0" or "1"');
      const recipients = b['recipients'];
      if (!Array.isArray(recipients) || recipients.length === 0) return error(400, 'recipients is required');
      const vars = opts.flows[flow] ?? 0;
      for (const r of recipients as unknown[]) {
        if (typeof r !== 'object' || r === null) return error(400, 'Invalid recipient');
        const rec = r as Record<string, unknown>;
        if (typeof rec['mobiles'] !== 'string' || !/^[1-9]\d{9,14}$/.test(rec['mobiles'])) return errors.invalid_mobile();
        for (let i = 1; i <= vars; i++) if (typeof rec[`VAR${i}`] !== 'string') return error(400, `VAR${i} is missing`);
      }
      for (const r of recipients as Array<Record<string, unknown>>) {
        const injected = ctx.errorFor(r['mobiles'] as string);
        if (injected !== undefined) return injected;
      }
      const requestId = randomBytes(12).toString('hex');
      for (const r of recipients as Array<Record<string, unknown>>) ctx.accept(r['mobiles'] as string, requestId, { template_id: flow, short_url: b['short_url'], ...r });
      return json(200, { type: 'success', message: requestId });
    },
  };
}

export function startMsg91Fake(opts: Msg91FakeOptions): Promise<FakeServer> {
  return FakeServer.start(msg91Spec(opts), opts);
}
