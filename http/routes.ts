import { decodeUtf8, parseJson } from './body.js';
import { HttpError, HttpErrorCodes } from './errors.js';
import type { Exchange } from './exchange.js';
import { webhookParser } from './receipts.js';
import type { EligibilityAnswer, EligibilityRequest, ReplicaApi, UserView } from './replica-api.js';
import type { RouteContext, RouteSpec } from './router.js';

export interface RoutesOptions {
  api: ReplicaApi;
  dashboardHtml: string | undefined;
  /** Longest a replica call may take before the client gets 504. */
  requestTimeoutMs: number;
}

/**
 * ReplicaBinding takes a second argument, `forwarded`, so that a request another replica
 * forwarded to the owner is not forwarded on again (a loop while partitions move).
 * ReplicaApi does not declare it yet; a method with fewer parameters is assignable to
 * this type, so this compiles against the interface with or without it.
 */
interface ForwardAware {
  eligibility(request: EligibilityRequest, forwarded?: boolean): Promise<EligibilityAnswer>;
  user(userId: string, forwarded?: boolean): Promise<UserView | undefined>;
}

/** Every HTTP route but the WebSocket: CONTRACT.md's HTTP section. */
export function routes(o: RoutesOptions): RouteSpec[] {
  const { api } = o;
  const owner: ForwardAware = api;
  const timed = <T>(p: Promise<T>, what: string) => withTimeout(p, o.requestTimeoutMs, what);
  return [
    {
      pattern: '/healthz',
      auth: 'public',
      paramCount: 0,
      handlers: {
        get: ({ ex }) => {
          if (api.alive()) ex.json(200, { status: 'ok', replica: api.id });
          else ex.json(503, { status: 'down', replica: api.id, error: { code: HttpErrorCodes.NOT_ALIVE, message: 'replica is not alive' } });
        },
      },
    },
    {
      pattern: '/readyz',
      auth: 'public',
      paramCount: 0,
      handlers: { get: ({ ex }) => ready(ex, api) },
    },
    {
      pattern: '/metrics',
      auth: 'public',
      paramCount: 0,
      handlers: {
        get: async ({ ex }) => {
          const m = await timed(api.metrics(), 'metrics');
          ex.send(200, m.body, { 'Content-Type': m.contentType, 'Cache-Control': 'no-store' });
        },
      },
    },
    {
      pattern: '/v1/eligibility',
      auth: 'bearer',
      paramCount: 0,
      handlers: {
        post: async ({ ex, body, forwardedBy }) => {
          const request = eligibilityRequest(parseJson(await body));
          ex.json(200, await timed(owner.eligibility(request, forwardedBy !== ''), 'eligibility'));
        },
      },
    },
    {
      pattern: '/v1/users/:id',
      auth: 'bearer',
      paramCount: 1,
      handlers: {
        get: async ({ ex, params, forwardedBy }) => {
          const userId = decodeSegment(params[0] ?? '', 'user id');
          const user = await timed(owner.user(userId, forwardedBy !== ''), 'user');
          if (user === undefined) throw new HttpError(404, HttpErrorCodes.UNKNOWN_USER, 'no state for this user');
          ex.json(200, user);
        },
      },
    },
    {
      // Providers can only be given a URL, so the token may ride in `?token=` here.
      pattern: '/v1/receipts/:provider',
      auth: 'bearer-or-query',
      paramCount: 1,
      handlers: { post: (ctx) => receipts(ctx, api, timed), get: (ctx) => receipts(ctx, api, timed) },
    },
    {
      // Reached only by a request to the WebSocket path that is not an upgrade.
      pattern: '/v1/live',
      auth: 'bearer-or-query',
      paramCount: 0,
      handlers: {
        get: () => {
          throw new HttpError(426, HttpErrorCodes.UPGRADE_REQUIRED, '/v1/live is a WebSocket endpoint', { headers: { Upgrade: 'websocket' } });
        },
      },
    },
    {
      // Public on purpose: a static page with no data in it (browsers cannot send a bearer
      // header on navigation). Its data comes over /v1/live, which checks the token.
      pattern: '/',
      auth: 'public',
      paramCount: 0,
      handlers: {
        get: ({ ex }) => {
          if (o.dashboardHtml === undefined) throw new HttpError(404, HttpErrorCodes.NOT_FOUND, 'the dashboard is not enabled on this replica');
          ex.send(200, o.dashboardHtml, {
            'Content-Type': 'text/html; charset=utf-8',
            'Cache-Control': 'no-store',
            'X-Content-Type-Options': 'nosniff',
            'X-Frame-Options': 'DENY',
            'Referrer-Policy': 'no-referrer',
          });
        },
      },
    },
  ];
}

function ready(ex: Exchange, api: ReplicaApi): void {
  if (api.ready()) {
    ex.json(200, { ready: true, replica: api.id });
    return;
  }
  // Which partitions hold it back helps whoever is looking at a stuck rollout.
  let waiting: number[] | undefined;
  try {
    waiting = api.snapshot().partitions.filter((p) => !p.ready).map((p) => p.partition);
  } catch {
    waiting = undefined;
  }
  ex.json(503, {
    ready: false,
    replica: api.id,
    ...(waiting === undefined ? {} : { partitionsNotReady: waiting }),
    error: { code: HttpErrorCodes.NOT_READY, message: 'not every assigned partition is restored and running' },
  });
}

async function receipts(ctx: RouteContext, api: ReplicaApi, timed: <T>(p: Promise<T>, what: string) => Promise<T>): Promise<void> {
  const provider = decodeSegment(ctx.params[0] ?? '', 'provider');
  const parse = webhookParser(provider);
  if (parse === undefined) throw new HttpError(404, HttpErrorCodes.UNKNOWN_PROVIDER, 'unknown provider; expected twilio[-name] or gupshup[-name]');
  const body = webhookBody(await ctx.body, ctx.contentType);
  const records = parse(provider, { query: ctx.query, body }, Date.now());
  const accepted = records.length === 0 ? 0 : await timed(api.receipts(records), 'receipts');
  ctx.ex.json(200, { received: records.length, accepted });
}

/** Form-encoded (Twilio, Gupshup) or JSON (an object, or Gupshup's batch array). */
function webhookBody(raw: Buffer, contentType: string): URLSearchParams {
  if (raw.length === 0) return new URLSearchParams();
  if (!/\bjson\b/i.test(contentType)) return new URLSearchParams(decodeUtf8(raw));
  const value = parseJson(raw);
  if (Array.isArray(value)) return new URLSearchParams({ response: JSON.stringify(value) });
  if (typeof value !== 'object' || value === null) throw new HttpError(400, HttpErrorCodes.NOT_AN_OBJECT, 'body must be a JSON object or array');
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.set(k, String(v));
    else if (Array.isArray(v)) out.set(k, JSON.stringify(v));
  }
  return out;
}

/** Validates POST /v1/eligibility: a userId and exactly one of campaignId or campaign. */
export function eligibilityRequest(value: unknown): EligibilityRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, HttpErrorCodes.NOT_AN_OBJECT, 'request body must be a JSON object');
  }
  const v = value as Record<string, unknown>;
  const userId = v['userId'];
  if (userId === undefined) throw missing('userId');
  if (typeof userId !== 'string' || userId === '' || userId.length > 256) throw invalid('userId', 'must be a non-empty string of at most 256 characters');
  const { campaignId, campaign } = v;
  if (campaignId !== undefined && campaign !== undefined) throw invalid('campaign', 'give either campaignId or campaign, not both');
  if (campaign !== undefined) {
    if (typeof campaign !== 'object' || campaign === null || Array.isArray(campaign)) throw invalid('campaign', 'must be an object');
    return { userId, campaign };
  }
  if (campaignId === undefined) throw missing('campaignId', ' (or give campaign inline)');
  if (typeof campaignId !== 'string' || campaignId === '' || campaignId.length > 256) throw invalid('campaignId', 'must be a non-empty string of at most 256 characters');
  return { userId, campaignId };
}

function missing(field: string, hint = ''): HttpError {
  return new HttpError(400, HttpErrorCodes.MISSING_FIELD, `field ${field} is missing${hint}`);
}

function invalid(field: string, message: string): HttpError {
  return new HttpError(400, HttpErrorCodes.INVALID_FIELD, `field ${field}: ${message}`);
}

function decodeSegment(raw: string, what: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, HttpErrorCodes.INVALID_FIELD, `${what} is not valid percent-encoding`);
  }
  if (value === '') throw new HttpError(400, HttpErrorCodes.MISSING_FIELD, `${what} is empty`);
  return value;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(504, HttpErrorCodes.TIMEOUT, `${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
