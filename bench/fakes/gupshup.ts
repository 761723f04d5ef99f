import { randomInt } from 'node:crypto';
import { smsEncoding } from '../../operators/delivery/sms-encoding.js';
import { deliverCallback } from './callbacks.js';
import { FakeServer, type FakeContext, type FakeRequest, type FakeResponse, type FakeServerOptions, type FakeSpec } from './server.js';

export interface GupshupFakeOptions extends FakeServerOptions {
  userid: string;
  password: string;
  /** DLR receiver: the fake calls it (GET) with the delivery report of each accepted message. */
  dlrUrl?: string;
}

const text = (status: number, body: string): FakeResponse => ({ status, headers: { 'content-type': 'text/plain' }, body });
const err = (code: string, message: string): FakeResponse => text(200, `error | ${code} | ${message}`);

/** A fake of Gupshup enterprise `POST /GatewayAPI/rest` (plain-text replies, HTTP 200 for errors too). */
export function gupshupSpec(opts: GupshupFakeOptions): FakeSpec {
  const errors = {
    internal: () => err('100', 'Unknown error'),
    auth: () => err('102', 'Authentication failed'),
    invalid_number: () => err('103', 'Invalid phone number'),
    dlt_mismatch: () => err('106', 'Message does not match the DLT template'),
    service_disabled: () => err('175', 'The "INTERNATIONAL_PHONE" service is disabled for you'),
    throttled: () => text(429, 'error | 429 | Rate limit exceeded'),
    unavailable: () => text(503, 'Service Unavailable'),
  };
  let seq = 0;

  return {
    name: 'gupshup',
    errors,
    isSend: (req) => req.path === '/GatewayAPI/rest',
    throttled: errors.throttled,
    unavailable: errors.unavailable,
    handle(req: FakeRequest, ctx: FakeContext): FakeResponse {
      if (req.path !== '/GatewayAPI/rest') return text(404, 'Not Found');
      // The gateway also takes GET with a query string; we send POST forms, and check that form.
      const form = req.method === 'POST' ? new URLSearchParams(req.body.toString('utf8')) : req.query;
      if (req.method === 'POST' && !(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return err('101', 'Invalid content type');
      if ((form.get('method') ?? '').toLowerCase() !== 'sendmessage') return err('101', 'Invalid or missing method');
      if ((form.get('auth_scheme') ?? '').toLowerCase() !== 'plain') return err('101', 'Invalid auth_scheme');
      if (form.get('v') !== '1.1') return err('101', 'Invalid version');
      if (form.get('userid') !== opts.userid || form.get('password') !== opts.password) return errors.auth();
      const to = form.get('send_to') ?? '';
      if (!/^[1-9]\d{9,14}$/.test(to)) return err('103', 'Invalid phone number');
      const msg = form.get('msg') ?? '';
      if (msg === '') return err('101', 'The message is empty');
      const type = form.get('msg_type') ?? '';
      if (!['TEXT', 'UNICODE_TEXT'].includes(type.toUpperCase())) return err('101', 'Invalid msg_type');
      // Stricter than the gateway, which would send it and deliver '?'s: a fake must catch that bug.
      if (type.toUpperCase() === 'TEXT' && smsEncoding(msg).encoding !== 'GSM-7') return err('101', 'Non-GSM text with msg_type TEXT');
      for (const f of ['principalEntityId', 'dltTemplateId', 'mask']) if ((form.get(f) ?? '') === '') return err('106', `${f} is missing (DLT)`);
      const injected = ctx.errorFor(to);
      if (injected !== undefined) return injected;
      const id = `${Date.now()}${String(++seq).padStart(6, '0')}-${randomInt(1e9)}`;
      ctx.accept(to, id, Object.fromEntries(form));
      if (opts.dlrUrl !== undefined) {
        const params = new URLSearchParams({ externalId: id, deliveredTS: String(ctx.now()), status: 'SUCCESS', phoneNo: to, cause: 'SUCCESS', errCode: '000' });
        setTimeout(() => void deliverCallback(opts.dlrUrl as string, { method: 'GET', params }), 10);
      }
      return text(200, `success | ${to} | ${id}`);
    },
  };
}

export function startGupshupFake(opts: GupshupFakeOptions): Promise<FakeServer> {
  return FakeServer.start(gupshupSpec(opts), opts);
}
