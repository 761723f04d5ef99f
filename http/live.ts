import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, WebSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import type { Logger } from '../processor/logger.js';
import { errorMessage } from '../errors/index.js';
import type { BearerAuth } from './auth.js';
import { errorBody, HttpErrorCodes, statusLine } from './errors.js';
import type { LiveEvent, ReplicaApi } from './replica-api.js';

/** Above this many bytes queued for a socket, events are dropped and stats coalesced. */
export const LIVE_HIGH_WATER_BYTES = 256 * 1024;
/** Hard cap uWS enforces per socket (it drops sends beyond it); ours above keeps us below. */
const LIVE_MAX_BACKPRESSURE = 1024 * 1024;
const STATS_EVERY_MS = 1_000;

interface LiveSocket {
  id: number;
  /** A stats frame was skipped under backpressure; send the latest one on drain. */
  statsPending: boolean;
  dropped: number;
}

/**
 * The `GET /v1/live` WebSocket: one replica subscription shared by every socket (each
 * event is serialised once), a stats snapshot on open and every second, and per-socket
 * backpressure. Events are best-effort: a slow dashboard loses events rather than make
 * the server buffer without bound, and the next stats frame (the aggregates) makes its
 * numbers right again. Stats frames are coalesced: only the latest pending one is sent.
 */
export class LiveHub {
  readonly #api: ReplicaApi;
  readonly #log: Logger;
  readonly #auth: BearerAuth;
  readonly #sockets = new Set<WebSocket<LiveSocket>>();
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #latestStats = '';
  #nextId = 1;
  #closed = false;

  constructor(api: ReplicaApi, log: Logger, auth: BearerAuth) {
    this.#api = api;
    this.#log = log;
    this.#auth = auth;
  }

  get size(): number {
    return this.#sockets.size;
  }

  behavior(): WebSocketBehavior<LiveSocket> {
    return {
      compression: uWS.DISABLED,
      // Dashboards only listen; anything bigger than a ping from a client is a misuse.
      maxPayloadLength: 4 * 1024,
      maxBackpressure: LIVE_MAX_BACKPRESSURE,
      idleTimeout: 60,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => this.#guard('open', () => this.#open(ws)),
      drain: (ws) => this.#guard('drain', () => this.#drain(ws)),
      close: (ws) => this.#guard('close', () => this.#closeSocket(ws)),
    };
  }

  /** Ends every socket and the replica subscription; the hub accepts nothing after. */
  close(): void {
    this.#closed = true;
    for (const ws of [...this.#sockets]) {
      try {
        ws.end(1001, 'server shutting down');
      } catch {
        // Already closed underneath us; the close handler has run or will not.
      }
    }
    this.#sockets.clear();
    this.#stop();
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    try {
      // The request object is only valid synchronously: read everything first.
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      // Browsers cannot set headers on a WebSocket, hence the query parameter.
      const denied = this.#closed ? undefined : this.#auth.check(req.getHeader('authorization'), req.getQuery('token'));
      if (this.#closed || denied !== undefined) {
        const status = denied?.status ?? 503;
        const body = denied === undefined ? errorBody(HttpErrorCodes.SHUTTING_DOWN, 'server is shutting down') : errorBody(denied.code, denied.message);
        res.cork(() => {
          res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'application/json; charset=utf-8');
          for (const [name, value] of Object.entries(denied?.headers ?? {})) res.writeHeader(name, value);
          res.end(body, true);
        });
        return;
      }
      const data: LiveSocket = { id: this.#nextId++, statsPending: false, dropped: 0 };
      res.upgrade(data, key, protocol, extensions, context);
    } catch (err) {
      this.#log.error({ err: errorMessage(err) }, 'websocket upgrade failed');
      try {
        res.cork(() => res.writeStatus(statusLine(500)).end(errorBody(HttpErrorCodes.INTERNAL, 'internal error'), true));
      } catch {
        // The upgrade may already have consumed the response; nothing left to do.
      }
    }
  }

  #open(ws: WebSocket<LiveSocket>): void {
    this.#sockets.add(ws);
    if (this.#unsubscribe === undefined) this.#start();
    const stats = this.#statsFrame();
    if (stats !== undefined) this.#sendTo(ws, stats, true);
    this.#log.debug({ socket: ws.getUserData().id, sockets: this.#sockets.size }, 'live socket opened');
  }

  #drain(ws: WebSocket<LiveSocket>): void {
    const data = ws.getUserData();
    if (data.statsPending && ws.getBufferedAmount() < LIVE_HIGH_WATER_BYTES / 2) {
      data.statsPending = false;
      this.#sendTo(ws, this.#latestStats, true);
    }
  }

  #closeSocket(ws: WebSocket<LiveSocket>): void {
    // The socket is unusable here: only bookkeeping, never a send.
    this.#sockets.delete(ws);
    const data = ws.getUserData();
    this.#log.debug({ socket: data.id, dropped: data.dropped, sockets: this.#sockets.size }, 'live socket closed');
    if (this.#sockets.size === 0) this.#stop();
  }

  #start(): void {
    this.#timer = setInterval(() => this.#guard('stats', () => this.#tick()), STATS_EVERY_MS);
    // The ticker must never be what keeps a stopping process alive.
    this.#timer.unref();
    try {
      this.#unsubscribe = this.#api.subscribe((event) => this.#guard('event', () => this.#broadcast(event)));
    } catch (err) {
      // Stats still flow; events will not until a socket opens on an empty hub again.
      this.#unsubscribe = () => undefined;
      this.#log.error({ err: errorMessage(err) }, 'live stream could not subscribe to the replica');
    }
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    if (unsubscribe !== undefined) this.#guard('unsubscribe', unsubscribe);
  }

  #tick(): void {
    const stats = this.#statsFrame();
    if (stats === undefined) return;
    for (const ws of this.#sockets) this.#sendTo(ws, stats, true);
  }

  #broadcast(event: LiveEvent): void {
    if (this.#sockets.size === 0) return;
    const frame = JSON.stringify(event);
    const isStats = event.type === 'stats';
    if (isStats) this.#latestStats = frame;
    for (const ws of this.#sockets) this.#sendTo(ws, frame, isStats);
  }

  #statsFrame(): string | undefined {
    try {
      const event: LiveEvent = { type: 'stats', ts: Date.now(), snapshot: this.#api.snapshot() };
      this.#latestStats = JSON.stringify(event);
      return this.#latestStats;
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'live stats snapshot failed');
      return undefined;
    }
  }

  #sendTo(ws: WebSocket<LiveSocket>, frame: string, isStats: boolean): void {
    const data = ws.getUserData();
    if (ws.getBufferedAmount() > LIVE_HIGH_WATER_BYTES) {
      if (isStats) data.statsPending = true;
      else data.dropped++;
      return;
    }
    try {
      ws.send(frame, false, false);
    } catch (err) {
      // A socket closing in this very turn; its close handler removes it.
      this.#log.debug({ socket: data.id, err: errorMessage(err) }, 'live send failed');
    }
  }

  /** uWS callbacks must not throw: an exception there is an uncaught exception. */
  #guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ what, err: errorMessage(err) }, 'live stream handler failed');
    }
  }
}
