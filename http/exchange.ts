import type { HttpResponse } from 'uWebSockets.js';
import type { Logger } from '../processor/logger.js';
import { errorMessage } from '../errors/index.js';
import { ClientAbortedError, errorBody, statusLine, toHttpError } from './errors.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * One request/response pair over a uWS HttpResponse, made safe to use from async code.
 *
 * uWS aborts the process if a handler returns without answering or registering
 * onAborted, and throws if a response is touched after it was aborted or ended. So the
 * constructor registers onAborted at once, and every write goes through `send`, which
 * does nothing once the response is finished either way, and corks (writes from async
 * continuations must be corked, or uWS warns and sends each piece separately).
 */
export class Exchange {
  readonly #res: HttpResponse;
  readonly #log: Logger;
  readonly #route: string;
  readonly #method: string;
  readonly #started = performance.now();
  #aborted = false;
  #done = false;
  #abortListeners: Array<() => void> = [];
  /** True while a declared request body has not been read to its end. */
  bodyPending = false;

  constructor(res: HttpResponse, log: Logger, route: string, method: string) {
    this.#res = res;
    this.#log = log;
    this.#route = route;
    this.#method = method;
    res.onAborted(() => {
      this.#aborted = true;
      const listeners = this.#abortListeners;
      this.#abortListeners = [];
      for (const listener of listeners) {
        // This runs inside a uWS callback: nothing may escape from it.
        try {
          listener();
        } catch (err) {
          log.error({ route, err: errorMessage(err) }, 'http abort listener failed');
        }
      }
    });
  }

  get res(): HttpResponse {
    return this.#res;
  }

  /** Whether the response can still be written. */
  get open(): boolean {
    return !this.#aborted && !this.#done;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  onAbort(listener: () => void): void {
    if (this.#aborted) listener();
    else this.#abortListeners.push(listener);
  }

  send(status: number, body: string | Uint8Array, headers: Readonly<Record<string, string>> = {}, closeConnection = false): void {
    if (!this.open) return;
    this.#done = true;
    // A body we did not read would otherwise be parsed by uWS only to be thrown away;
    // closing is cheaper and stops a client streaming an oversize body at us.
    const close = closeConnection || this.bodyPending;
    try {
      this.#res.cork(() => {
        this.#res.writeStatus(statusLine(status));
        for (const [name, value] of Object.entries(headers)) this.#res.writeHeader(name, value);
        this.#res.end(body, close);
      });
    } catch (err) {
      // Only reachable if uWS already dropped the socket; nothing more can be sent.
      this.#log.warn({ route: this.#route, err: errorMessage(err) }, 'http write failed');
      return;
    }
    const ms = Math.round((performance.now() - this.#started) * 100) / 100;
    // The route pattern, not the URL: paths carry user ids and queries may carry tokens.
    // Access lines are debug: a 503 from /readyz every few seconds during a restore is
    // the answer, not a problem. Unexpected errors were logged by `fail`; timeouts here.
    if (status === 504) this.#log.warn({ route: this.#route, method: this.#method, status, ms }, 'http request timed out');
    else this.#log.debug({ route: this.#route, method: this.#method, status, ms }, 'http request');
  }

  json(status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): void {
    this.send(status, JSON.stringify(value), { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-store', ...headers });
  }

  /** Answers any thrown value as a JSON error; unexpected ones are logged, never echoed. */
  fail(err: unknown): void {
    if (err instanceof ClientAbortedError || !this.open) return;
    const { error, expected } = toHttpError(err);
    if (!expected) {
      this.#log.error({ route: this.#route, method: this.#method, err: errorMessage(err) }, 'http handler failed');
    }
    this.send(error.status, errorBody(error.code, error.message), { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-store', ...error.headers }, error.closeConnection);
  }
}
