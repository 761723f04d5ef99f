import { randomBytes } from 'node:crypto';
import { deliverCallback, twilioSignature } from './callbacks.js';
import { FakeServer, type FakeContext, type FakeRequest, type FakeResponse, type FakeServerOptions, type FakeSpec } from './server.js';

export interface TwilioFakeOptions extends FakeServerOptions {
  accountSid: string;
  authToken: string;
  /** Delivery outcome by recipient for status callbacks; default delivered. Use 30001 / 30036 for the async errors. */
  deliveryErrors?: Map<string, number>;
  /** Delay between the `sent` and final callbacks. @defaultValue 10 */
  callbackDelayMs?: number;
}

function error(status: number, code: number, message: string): FakeResponse {
  // Twilio's REST error body.
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }) };
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** A fake of Twilio Programmable Messaging (`POST /2010-04-01/Accounts/{sid}/Messages.json`). */
export function twilioSpec(opts: TwilioFakeOptions): FakeSpec {
  const path = `/2010-04-01/Accounts/${opts.accountSid}/Messages.json`;
  const expectedAuth = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`;
  const errors = {
    throttled: () => error(429, 20429, 'Too Many Requests'),
    server_error: () => error(500, 20500, 'Internal Server Error'),
    unavailable: () => error(503, 20503, 'Service Unavailable'),
    unsubscribed: () => error(400, 21610, 'Attempt to send to unsubscribed recipient'),
    invalid_number: () => error(400, 21211, "The 'To' number is not a valid phone number."),
    not_sms_capable: () => error(400, 21614, "'To' number is not a valid mobile number"),
    unauthenticated: () => error(401, 20003, 'Authenticate'),
  };

  function callbacks(url: string, sid: string, to: string, from: string): void {
    const code = opts.deliveryErrors?.get(to);
    const send = (status: string, errorCode?: number): Promise<void> => {
      const params = new URLSearchParams({ AccountSid: opts.accountSid, MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, To: to, From: from, ApiVersion: '2010-04-01' });
      if (errorCode !== undefined) params.set('ErrorCode', String(errorCode));
      return deliverCallback(url, { method: 'POST', params, headers: { 'x-twilio-signature': twilioSignature(opts.authToken, url, params) } });
    };
    setTimeout(() => {
      void send('sent').then(() =>
        setTimeout(() => void (code === undefined ? send('delivered') : send(code === 30036 ? 'failed' : 'undelivered', code)), opts.callbackDelayMs ?? 10),
      );
    }, opts.callbackDelayMs ?? 10);
  }

  return {
    name: 'twilio',
    errors,
    isSend: (req) => req.path === path,
    throttled: errors.throttled,
    unavailable: errors.unavailable,
    handle(req: FakeRequest, ctx: FakeContext): FakeResponse {
      if (!req.path.startsWith('/2010-04-01/Accounts/')) return error(404, 20404, 'The requested resource was not found');
      if (req.headers.authorization !== expectedAuth) return errors.unauthenticated();
      if (req.path !== path) return error(404, 20404, `The requested resource ${req.path} was not found`);
      if (req.method !== 'POST') return error(405, 20004, 'Method not allowed');
      if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return error(400, 21604, "A 'To' phone number is required.");
      const form = new URLSearchParams(req.body.toString('utf8'));
      const to = form.get('To');
      const from = form.get('From');
      const service = form.get('MessagingServiceSid');
      const body = form.get('Body');
      if (to === null || to === '') return error(400, 21604, "A 'To' phone number is required.");
      if (!E164.test(to)) return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      if ((from === null || from === '') && (service === null || service === '')) return error(400, 21603, "A 'From' phone number is required.");
      if (service !== null && !/^MG[0-9a-f]{32}$/i.test(service)) return error(400, 21701, `The Messaging Service Sid ${service} is invalid.`);
      if (body === null || body === '') return error(400, 21602, 'Message body is required.');
      if (body.length > 1600) return error(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
      const validity = form.get('ValidityPeriod');
      if (validity !== null && !(/^\d+$/.test(validity) && Number(validity) >= 1 && Number(validity) <= 36_000)) return error(400, 90007, 'Invalid validity period value');
      const callback = form.get('StatusCallback');
      if (callback !== null && !/^https?:\/\//.test(callback)) return error(400, 21609, 'Invalid StatusCallback URL');
      const injected = ctx.errorFor(to);
      if (injected !== undefined) return injected;
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const fields = Object.fromEntries(form);
      ctx.accept(to, sid, fields);
      if (callback !== null) callbacks(callback, sid, to, from ?? service ?? '');
      const now = new Date(ctx.now()).toUTCString();
      return {
        status: 201,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sid, account_sid: opts.accountSid, to, from, messaging_service_sid: service, body, status: 'queued', num_segments: '1', direction: 'outbound-api', api_version: '2010-04-01', date_created: now, date_updated: now, error_code: null, error_message: null, uri: `${path.replace('.json', '')}/${sid}.json` }),
      };
    },
  };
}

export function startTwilioFake(opts: TwilioFakeOptions): Promise<FakeServer> {
  return FakeServer.start(twilioSpec(opts), opts);
}
