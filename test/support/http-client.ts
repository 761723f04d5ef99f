import { connect, type Socket } from 'node:net';
import { WebSocket } from 'undici';
import { startHttpServer, type HttpServer, type HttpServerOptions } from '../../http/server.js';
import { testLogger } from './logger.js';
import { StubReplicaApi } from './http-stub.js';

export const TEST_TOKEN = 'test-token-5f0c2b9e';

export interface TestServer {
  api: StubReplicaApi;
  server: HttpServer;
  port: number;
  base: string;
  close(): void;
}

/** The real uWS server on 127.0.0.1, an ephemeral port, in front of a recording stub. */
export async function startTestServer(overrides: Partial<HttpServerOptions> = {}): Promise<TestServer> {
  const api = new StubReplicaApi();
  const server = await startHttpServer({ api, host: '127.0.0.1', port: 0, token: TEST_TOKEN, maxBodyBytes: 1024, log: testLogger, ...overrides });
  return { api, server, port: server.port, base: `http://127.0.0.1:${server.port}`, close: () => server.close() };
}

export const auth = (token = TEST_TOKEN): Record<string, string> => ({ authorization: `Bearer ${token}` });

export interface RawResponse {
  /** Everything the server sent before closing or the timeout. */
  text: string;
  /** Status code of the first response, if one arrived. */
  status: number | undefined;
  /** Whether the server closed or reset the connection (rather than our timeout). */
  closedByServer: boolean;
}

/**
 * Sends raw bytes over a fresh TCP connection (for requests fetch refuses to make: lying
 * framing, garbage, half-sent bodies) and collects what comes back.
 */
export function rawRequest(port: number, parts: ReadonlyArray<string | Buffer>, options: { timeoutMs?: number; gapMs?: number; destroyAfterWrite?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    let finished = false;
    const socket: Socket = connect(port, '127.0.0.1');
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: m?.[1] === undefined ? undefined : Number(m[1]), closedByServer });
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 2_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('close', () => {
      closedByServer = true;
      finish();
    });
    // A reset (ECONNRESET, EPIPE) is the server dropping the connection too.
    socket.on('error', () => {
      closedByServer = true;
      finish();
    });
    socket.on('connect', () => {
      void (async () => {
        for (const part of parts) {
          if (socket.destroyed) return;
          socket.write(part);
          if (options.gapMs !== undefined) await new Promise((r) => setTimeout(r, options.gapMs));
        }
        if (options.destroyAfterWrite === true) finish();
      })();
    });
  });
}

/** Parses the JSON body of a raw HTTP/1.1 response (Content-Length framed, as uWS sends). */
export function rawJson(res: RawResponse): unknown {
  const at = res.text.indexOf('\r\n\r\n');
  const head = res.text.slice(0, at);
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? '0');
  return JSON.parse(res.text.slice(at + 4, at + 4 + length)) as unknown;
}

export interface LiveClient {
  ws: WebSocket;
  messages: unknown[];
  opened: Promise<void>;
  /** Resolves with the close code, or rejects if the socket errored before opening. */
  closed: Promise<number>;
  close(): void;
}

/** A WebSocket client that keeps every message it receives, parsed. */
export function liveClient(url: string, headers: Record<string, string> = {}): LiveClient {
  const ws = new WebSocket(url, { headers });
  const messages: unknown[] = [];
  let opened = false;
  const openedP = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => {
      opened = true;
      resolve();
    });
    ws.addEventListener('error', () => {
      if (!opened) reject(new Error('websocket failed to open'));
    });
  });
  openedP.catch(() => undefined);
  const closed = new Promise<number>((resolve) => ws.addEventListener('close', (e) => resolve(e.code)));
  ws.addEventListener('message', (e) => {
    messages.push(JSON.parse(String(e.data)) as unknown);
  });
  return { ws, messages, opened: openedP, closed, close: () => ws.close() };
}
