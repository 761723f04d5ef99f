import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Logger } from '../processor/logger.js';
import type { BearerAuth } from './auth.js';
import { declaresBody, readBody } from './body.js';
import { HttpError, HttpErrorCodes } from './errors.js';
import { Exchange } from './exchange.js';

/** What a handler gets: everything copied out of the uWS request, which dies on return. */
export interface RouteContext {
  ex: Exchange;
  method: string;
  /** Route parameters, raw (still percent-encoded) as uWS gives them. */
  params: readonly string[];
  query: URLSearchParams;
  contentType: string;
  /** The replica id in `x-nudge-forwarded` when another replica forwarded this request, else ''. */
  forwardedBy: string;
  /** The request body (POST only; empty otherwise), limited to maxBodyBytes. */
  body: Promise<Buffer>;
}

/** Set by a replica forwarding a request to the partition's owner (http/replica-binding.ts). */
export const FORWARDED_HEADER = 'x-nudge-forwarded';

export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;
export type Method = 'get' | 'post';

export interface RouteSpec {
  pattern: string;
  /** `public`: no token. `bearer`: the Authorization header. `bearer-or-query`: also `?token=`, for callers that can only be given a URL. */
  auth: 'public' | 'bearer' | 'bearer-or-query';
  paramCount: number;
  handlers: Partial<Record<Method, RouteHandler>>;
}

export interface RouterDeps {
  log: Logger;
  auth: BearerAuth;
  maxBodyBytes: number;
}

/**
 * Mounts a route on every method, so a wrong method gets a JSON 405 rather than uWS's
 * silence, and wraps its handler so that no exception or rejection ever reaches uWS
 * (an exception in a uWS callback before answering aborts the whole process).
 */
export function mountRoute(app: TemplatedApp, spec: RouteSpec, deps: RouterDeps): void {
  const allow = Object.keys(spec.handlers).map((m) => m.toUpperCase()).join(', ');
  app.any(spec.pattern, (res: HttpResponse, req: HttpRequest) => {
    const method = safeMethod(req);
    const ex = new Exchange(res, deps.log, spec.pattern, method);
    try {
      const contentLength = req.getHeader('content-length');
      const transferEncoding = req.getHeader('transfer-encoding');
      ex.bodyPending = declaresBody({ contentLength, transferEncoding });
      const handler = spec.handlers[method as Method];
      if (handler === undefined) {
        throw new HttpError(405, HttpErrorCodes.METHOD_NOT_ALLOWED, `${method.toUpperCase()} is not allowed here; use ${allow}`, { headers: { Allow: allow } });
      }
      if (spec.auth !== 'public') {
        const queryToken = spec.auth === 'bearer-or-query' ? req.getQuery('token') : undefined;
        const denied = deps.auth.check(req.getHeader('authorization'), queryToken);
        if (denied !== undefined) throw denied;
      }
      const params: string[] = [];
      for (let i = 0; i < spec.paramCount; i++) params.push(req.getParameter(i));
      // Registered now, synchronously: body data may arrive as soon as we return.
      const body = method === 'post' ? readBody(ex, deps.maxBodyBytes, { contentLength, transferEncoding }) : Promise.resolve(Buffer.alloc(0));
      // A handler may fail before awaiting the body; its later rejection (413, abort)
      // must not become an unhandled rejection, which would end the process.
      body.catch(() => undefined);
      const ctx: RouteContext = {
        ex,
        method,
        params,
        query: new URLSearchParams(req.getQuery() ?? ''),
        contentType: req.getHeader('content-type'),
        forwardedBy: req.getHeader(FORWARDED_HEADER),
        body,
      };
      run(ex, handler, ctx);
    } catch (err) {
      ex.fail(err);
    }
  });
}

/** The fallback for every path no route matched. */
export function mountNotFound(app: TemplatedApp, log: Logger): void {
  app.any('/*', (res, req) => {
    const ex = new Exchange(res, log, '(unmatched)', safeMethod(req));
    ex.bodyPending = declaresBody({ contentLength: req.getHeader('content-length'), transferEncoding: req.getHeader('transfer-encoding') });
    ex.fail(new HttpError(404, HttpErrorCodes.NOT_FOUND, 'no such endpoint'));
  });
}

function run(ex: Exchange, handler: RouteHandler, ctx: RouteContext): void {
  let result: void | Promise<void>;
  try {
    result = handler(ctx);
  } catch (err) {
    ex.fail(err);
    return;
  }
  if (result instanceof Promise) {
    result.then(
      () => {
        // A handler that forgot to answer must not leave the client hanging.
        if (ex.open) ex.fail(new Error('handler returned without answering'));
      },
      (err: unknown) => ex.fail(err),
    );
  } else if (ex.open) {
    ex.fail(new Error('handler returned without answering'));
  }
}

function safeMethod(req: HttpRequest): string {
  // uWS lowercases the method; a garbage method is just an unknown one.
  return req.getMethod().toLowerCase().slice(0, 16);
}
