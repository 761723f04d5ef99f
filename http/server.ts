import uWS from 'uWebSockets.js';
import type { ListenOptions, us_listen_socket } from 'uWebSockets.js';
import { ConfigError } from '../errors/index.js';
import type { Logger } from '../processor/logger.js';
import { BearerAuth } from './auth.js';
import { LiveHub } from './live.js';
import type { ReplicaApi } from './replica-api.js';
import { mountNotFound, mountRoute } from './router.js';
import { routes } from './routes.js';

/** LIBUS_LISTEN_EXCLUSIVE_PORT: uWS.js declares the ListenOptions enum in its typings only. */
const EXCLUSIVE_PORT = 1 as ListenOptions;

export interface HttpServerOptions {
  api: ReplicaApi;
  host: string;
  /** 0 binds an ephemeral port; the bound one is returned. */
  port: number;
  /** The bearer token. Without one the protected API answers 503 unless `insecure`. */
  token: string | undefined;
  maxBodyBytes: number;
  log: Logger;
  /** The page served at `GET /` (buildDashboardHtml()); without it `/` answers 404. */
  dashboardHtml?: string;
  /** Serve the protected API with no token at all. Local development and demos only. */
  insecure?: boolean;
  /** Longest a replica call may take before the client gets 504 (default 10 s). */
  requestTimeoutMs?: number;
}

export interface HttpServer {
  readonly port: number;
  /** Stops listening and ends live sockets. Idle keep-alive connections time out on their own. */
  close(): void;
}

/** Starts the replica's HTTP API (CONTRACT.md, HTTP) on uWebSockets.js. */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  if (!Number.isInteger(opts.maxBodyBytes) || opts.maxBodyBytes < 1) {
    throw new ConfigError('http.maxBodyBytes', `${opts.maxBodyBytes} is not a positive integer`, 'an integer of at least 256');
  }
  const log = opts.log.child({ component: 'http' });
  const auth = new BearerAuth(opts.token, opts.insecure === true);
  if (auth.mode === 'disabled') {
    log.warn('http.token is not configured: /v1/* and the live stream answer 503 until it is (health, readiness and metrics are served)');
  } else if (auth.mode === 'insecure') {
    log.warn('http API is running without authentication (insecure: true)');
  }

  const app = uWS.App();
  const hub = new LiveHub(opts.api, log, auth);
  // The WebSocket first: uWS gives its GET precedence and yields non-upgrade requests
  // to the `/v1/live` route below, which answers 426.
  app.ws('/v1/live', hub.behavior());
  const deps = { log, auth, maxBodyBytes: opts.maxBodyBytes };
  for (const spec of routes({ api: opts.api, dashboardHtml: opts.dashboardHtml, requestTimeoutMs: opts.requestTimeoutMs ?? 10_000 })) {
    mountRoute(app, spec, deps);
  }
  mountNotFound(app, log);

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    // Exclusive: uSockets otherwise sets SO_REUSEPORT, and a second replica started on the same
    // port would share it silently, each answering a part of the requests for partitions it may
    // not own. uWS.js takes (host, port, options, cb); its typings list only (port, options, cb).
    const listen = app.listen.bind(app) as unknown as (host: string, port: number, options: ListenOptions, cb: (socket: us_listen_socket | false) => void) => void;
    listen(opts.host, opts.port, EXCLUSIVE_PORT, (socket) => {
      if (socket === false) reject(new ConfigError('http.port', `cannot listen on ${opts.host}:${opts.port}`, 'a free port and a local address'));
      else resolve(socket);
    });
  });
  // A listen socket is a socket to uSockets; the typings keep the two apart.
  const port = uWS.us_socket_local_port(listenSocket);
  log.info({ host: opts.host, port, auth: auth.mode, dashboard: opts.dashboardHtml !== undefined }, 'http server listening');

  let closed = false;
  return {
    port,
    close() {
      if (closed) return;
      closed = true;
      uWS.us_listen_socket_close(listenSocket);
      hub.close();
      log.info({ port }, 'http server closed');
    },
  };
}
