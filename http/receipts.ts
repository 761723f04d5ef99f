import { HttpError, HttpErrorCodes } from './errors.js';

/**
 * A receipt as CONTRACT.md's `nudge.receipts` record. The phone number is never copied in.
 * A type alias, not an interface, so that it is a `Record<string, unknown>` for ReplicaApi.
 */
export type ReceiptRecord = {
  sendId: string;
  /**
   * From the callback URL's `?userId=`. Absent when the provider calls an account-wide URL
   * (Gupshup's DLR URL, a fixed status callback): the user is then read from a nudge sendId,
   * or the receipt is dead-lettered (ReplicaBinding.receipts).
   */
  userId?: string;
  campaignId?: string;
  provider: string;
  status: 'accepted' | 'delivered' | 'failed' | 'undelivered';
  code: string | null;
  ts: number;
};

/** Fields of one webhook call: ours come from the query string we put in the callback URL. */
export interface WebhookFields {
  /** Query parameters (`sendId`, `userId`, `campaignId` are ours; a provider may add its own). */
  query: URLSearchParams;
  /** Form or JSON body fields; they win over query parameters of the same name. */
  body: URLSearchParams;
}

export type WebhookParser = (provider: string, fields: WebhookFields, now: number) => ReceiptRecord[];

/**
 * Parser for a provider path segment: `twilio`, `gupshup`, or a named instance of one
 * (`twilio-us`, `gupshup-in`), which becomes the receipt's `provider` as written.
 * Undefined for anything else (the route answers 404).
 */
export function webhookParser(provider: string): WebhookParser | undefined {
  const family = /^(twilio|gupshup)(?:-[a-z0-9]+)*$/.exec(provider)?.[1];
  if (family === 'twilio') return parseTwilio;
  if (family === 'gupshup') return parseGupshup;
  return undefined;
}

const TWILIO_STATUS: Readonly<Record<string, ReceiptRecord['status'] | 'ignore'>> = {
  accepted: 'accepted',
  scheduled: 'accepted',
  queued: 'accepted',
  sending: 'accepted',
  sent: 'accepted',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  partially_delivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
  // Inbound messages share the callback format; they are not receipts of ours.
  receiving: 'ignore',
  received: 'ignore',
};

/** Twilio's status callback (form fields MessageSid, MessageStatus, ErrorCode, To, …). */
export function parseTwilio(provider: string, fields: WebhookFields, now: number): ReceiptRecord[] {
  const get = field(fields);
  const rawStatus = required(get('MessageStatus') ?? get('SmsStatus'), 'MessageStatus').toLowerCase();
  const status = TWILIO_STATUS[rawStatus];
  if (status === undefined) throw invalid('MessageStatus', `unknown Twilio status "${clip(rawStatus)}"`);
  if (status === 'ignore') return [];
  const sendId = fields.query.get('sendId') || required(get('MessageSid') ?? get('SmsSid'), 'MessageSid');
  return [
    receipt({
      sendId,
      userId: userIdOf(fields),
      campaignId: fields.query.get('campaignId') ?? undefined,
      provider,
      status,
      code: nonEmpty(get('ErrorCode')) ?? null,
      // Twilio's callback carries no event time; the time we heard of it is the best we have.
      ts: now,
    }),
  ];
}

/**
 * Gupshup Enterprise real-time DLR: one report as query or form fields (externalId,
 * deliveredTS, status SUCCESS|FAILURE|UNKNOWN, cause, errCode, phoneNo), or a batch of up
 * to 20 as a JSON array in the `response` field (externalId, eventType, eventTs, cause).
 */
export function parseGupshup(provider: string, fields: WebhookFields, now: number): ReceiptRecord[] {
  const get = field(fields);
  const batch = get('response');
  if (batch !== undefined) return parseGupshupBatch(provider, fields, batch, now);
  const status = gupshupStatus(required(get('status') ?? get('eventType'), 'status'), 'status');
  return [
    receipt({
      sendId: fields.query.get('sendId') || required(get('externalId'), 'externalId'),
      userId: userIdOf(fields),
      campaignId: fields.query.get('campaignId') ?? undefined,
      provider,
      status,
      code: gupshupCode(get('cause'), get('errCode')),
      ts: epochMs(get('deliveredTS') ?? get('eventTs'), now),
    }),
  ];
}

function parseGupshupBatch(provider: string, fields: WebhookFields, text: string, now: number): ReceiptRecord[] {
  let events: unknown;
  try {
    events = JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, HttpErrorCodes.MALFORMED_JSON, 'field response: malformed JSON');
  }
  if (!Array.isArray(events)) throw invalid('response', 'expected a JSON array of delivery events');
  if (events.length > 100) throw invalid('response', 'more than 100 events in one call');
  const userId = userIdOf(fields);
  return events.map((event: unknown, i) => {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw invalid(`response[${i}]`, 'expected an object');
    const e = event as Record<string, unknown>;
    return receipt({
      sendId: required(scalar(e['externalId']), `response[${i}].externalId`),
      userId,
      campaignId: fields.query.get('campaignId') ?? undefined,
      provider,
      status: gupshupStatus(required(scalar(e['eventType']) ?? scalar(e['status']), `response[${i}].eventType`), `response[${i}].eventType`),
      code: gupshupCode(scalar(e['cause']), scalar(e['errCode'])),
      ts: epochMs(scalar(e['eventTs']) ?? scalar(e['deliveredTS']), now),
    });
  });
}

const GUPSHUP_STATUS: Readonly<Record<string, ReceiptRecord['status']>> = {
  SUCCESS: 'delivered',
  DELIVERED: 'delivered',
  FAIL: 'failed',
  FAILED: 'failed',
  FAILURE: 'failed',
  UNDELIV: 'undelivered',
  UNDELIVERED: 'undelivered',
  EXPIRED: 'undelivered',
  // A final report without a handset confirmation: not delivered as far as anyone knows.
  UNKNOWN: 'undelivered',
  SENT: 'accepted',
  SUBMITTED: 'accepted',
  ACCEPTED: 'accepted',
  ENROUTE: 'accepted',
};

function gupshupStatus(raw: string, name: string): ReceiptRecord['status'] {
  const status = GUPSHUP_STATUS[raw.trim().toUpperCase()];
  if (status === undefined) throw invalid(name, `unknown Gupshup status "${clip(raw)}"`);
  return status;
}

/** The cause names the failure (UNKNOWN_SUBSCRIBER, DND_FAIL…); errCode only when no cause. */
function gupshupCode(cause: string | undefined, errCode: string | undefined): string | null {
  const c = nonEmpty(cause?.trim());
  if (c !== undefined && c.toUpperCase() !== 'SUCCESS') return c;
  const e = nonEmpty(errCode?.trim());
  return e !== undefined && !/^0+$/.test(e) ? e : null;
}

function receipt(r: Omit<ReceiptRecord, 'campaignId' | 'userId'> & { campaignId: string | undefined; userId: string | undefined }): ReceiptRecord {
  const { campaignId, userId, ...rest } = r;
  if (rest.sendId.length > 256) throw invalid('sendId', 'longer than 256 characters');
  const out: ReceiptRecord = rest;
  if (userId !== undefined) out.userId = userId;
  if (campaignId !== undefined && campaignId !== '') out.campaignId = campaignId;
  return out;
}

/** `?userId=` of the callback URL, if there is one (see ReceiptRecord.userId). */
function userIdOf(fields: WebhookFields): string | undefined {
  const userId = fields.query.get('userId');
  if (userId === null || userId === '') return undefined;
  if (userId.length > 256) throw invalid('userId', 'longer than 256 characters');
  return userId;
}

function field(fields: WebhookFields): (name: string) => string | undefined {
  return (name) => fields.body.get(name) ?? fields.query.get(name) ?? undefined;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value.trim() === '') throw new HttpError(400, HttpErrorCodes.MISSING_FIELD, `field ${name} is missing`);
  return value.trim();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function scalar(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** Provider timestamps are epoch ms; seconds are recognised by size. Anything else: now. */
function epochMs(raw: string | undefined, now: number): number {
  if (raw === undefined || !/^\d{9,13}$/.test(raw.trim())) return now;
  const n = Number(raw.trim());
  return n < 1e11 ? n * 1000 : n;
}

function invalid(name: string, message: string): HttpError {
  return new HttpError(400, HttpErrorCodes.INVALID_FIELD, `field ${name}: ${message}`);
}

/** Values are echoed in errors only briefly: they come from the outside. */
function clip(value: string): string {
  return value.length > 32 ? `${value.slice(0, 32)}…` : value;
}
