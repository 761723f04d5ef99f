import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { controlResponse } from './control.js';
import type { AcceptedMessage, FakeRequest, FakeResponse } from './types.js';
import { NO_FAULTS, Throughput, type Faults } from './faults.js';
import type { SelfSigned } from './self-signed.js';

export type { AcceptedMessage, FakeRequest, FakeResponse } from './types.js';

export interface FakeContext {
  now(): number;
  /** The injected error for this recipient (`failRecipient`), answered instead of accepting. */
  errorFor(recipient: string): FakeResponse | undefined;
  accept(recipient: string, id: string, fields: Record<string, unknown>): AcceptedMessage;
}

/** What makes a fake one provider: its wire format, validation and error bodies. */
export interface FakeSpec {
  readonly name: string;
  /** Requests subject to faults and counted as sends (not token endpoints). */
  isSend(req: FakeRequest): boolean;
  handle(req: FakeRequest, ctx: FakeContext): FakeResponse | Promise<FakeResponse>;
  throttled(): FakeResponse;
  unavailable(): FakeResponse;
  /** Injectable error classes, each answered in the provider's real error format. */
  readonly errors: Readonly<Record<string, () => FakeResponse>>;
}

export interface FakeServerOptions {
  /** Epoch ms for token validation and records. @defaultValue Date.now */
  now?: () => number;
  random?: () => number;
  /** Accepted messages kept for inspection (counts per recipient are always kept). @defaultValue 100000 */
  keepMessages?: number;
  /** Serve HTTP/2 over TLS with this certificate (APNs); else HTTP/1.1 cleartext. */
  tls?: SelfSigned;
}

export interface FakeStats {
  requests: number;
  sends: number;
  accepted: number;
  throttled: number;
  injected: number;
  unavailable: number;
  hung: number;
  /** Sends refused by validation (4xx in the provider's format). */
  rejected: number;
  /** Connections (HTTP/2 sessions) opened by clients: shows connection reuse. */
  connections: number;
  /** The most requests in progress at once (received, not yet answered): shows multiplexing. */
  maxInFlight: number;
}

const MAX_BODY = 1 << 20;

type Res = { h1: ServerResponse } | { h2: Http2ServerResponse };

/**
 * A loopback fake provider (`listen(0)` on 127.0.0.1) with a fault-injection control API under
 * `/__fake/` (GET state, PUT/PATCH faults, POST reset, GET messages, POST recipients, POST outage).
 */
export class FakeServer {
  readonly spec: FakeSpec;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #keep: number;
  readonly #server: Server | Http2SecureServer;
  readonly #isH2: boolean;
  readonly #h2Sessions = new Set<ServerHttp2Session>();
  readonly #hanging = new Set<Res>();
  #port = 0;
  #listening = false;
  #faults: Faults = { ...NO_FAULTS };
  #throughput: Throughput | undefined;
  #recoverTimer: NodeJS.Timeout | undefined;
  readonly #recipientErrors = new Map<string, string>();
  readonly #perRecipient = new Map<string, number>();
  readonly #perSecond = new Map<number, { requests: number; accepted: number; throttled: number }>();
  messages: AcceptedMessage[] = [];
  stats: FakeStats = FakeServer.#zero();
  /** Requests received and not yet answered (or their connection closed). */
  #inFlight = 0;

  private constructor(spec: FakeSpec, opts: FakeServerOptions) {
    this.spec = spec;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#keep = opts.keepMessages ?? 100_000;
    this.#isH2 = opts.tls !== undefined;
    if (opts.tls !== undefined) {
      const s = createSecureServer({ key: opts.tls.key, cert: opts.tls.cert, allowHTTP1: false, settings: { maxConcurrentStreams: 1000 } }, (req, res) => this.#serve(req, { h2: res }));
      s.on('session', (session) => {
        this.stats.connections++;
        this.#h2Sessions.add(session);
        session.on('close', () => this.#h2Sessions.delete(session));
      });
      this.#server = s;
    } else {
      const s = createServer((req, res) => this.#serve(req, { h1: res }));
      s.keepAliveTimeout = 30_000;
      s.on('connection', () => this.stats.connections++);
      this.#server = s;
    }
  }

  static async start(spec: FakeSpec, opts: FakeServerOptions = {}): Promise<FakeServer> {
    const f = new FakeServer(spec, opts);
    await f.#listen(0);
    return f;
  }

  static #zero(): FakeStats {
    return { requests: 0, sends: 0, accepted: 0, throttled: 0, injected: 0, unavailable: 0, hung: 0, rejected: 0, connections: 0, maxInFlight: 0 };
  }

  /** Requests in progress now (received, not yet answered). */
  get inFlight(): number {
    return this.#inFlight;
  }

  get port(): number {
    return this.#port;
  }

  /** Base URL to give the adapter. */
  get url(): string {
    return `${this.#isH2 ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
  }


  get faults(): Readonly<Faults> {
    return this.#faults;
  }

  /** Merges fault settings (outage included). */
  setFaults(f: Partial<Faults>): void {
    const before = this.#faults.outage;
    this.#faults = { ...this.#faults, ...f };
    if (f.maxPerSecond !== undefined) this.#throughput = f.maxPerSecond === null ? undefined : new Throughput(f.maxPerSecond, this.#now());
    if (this.#faults.outage === 'refuse' && before !== 'refuse') this.#stopListening();
    if (this.#faults.outage !== 'refuse' && before === 'refuse') void this.#listen(this.#port);
  }

  resetFaults(): void {
    this.setFaults({ ...NO_FAULTS });
  }

  /** Starts an outage, ending by itself after `forMs` when given (a refused port cannot be told to recover). */
  outage(mode: 'refuse' | 'unavailable', forMs?: number): void {
    this.setFaults({ outage: mode });
    clearTimeout(this.#recoverTimer);
    if (forMs !== undefined) this.#recoverTimer = setTimeout(() => this.recover(), forMs);
  }

  recover(): void {
    clearTimeout(this.#recoverTimer);
    this.setFaults({ outage: null });
  }

  /** Answers every send to `recipient` with the error class, or stops doing so (null). */
  failRecipient(recipient: string, errorClass: string | null): void {
    if (errorClass === null) this.#recipientErrors.delete(recipient);
    else if (!(errorClass in this.spec.errors)) throw new TypeError(`unknown error class ${errorClass}`);
    else this.#recipientErrors.set(recipient, errorClass);
  }

  countFor(recipient: string): number {
    return this.#perRecipient.get(recipient) ?? 0;
  }

  /** Every recipient with its accepted count. */
  counts(): ReadonlyMap<string, number> {
    return this.#perRecipient;
  }

  /** Per-second requests / accepted / throttled, oldest first (the last 10 minutes). */
  timeline(): Array<{ second: number; requests: number; accepted: number; throttled: number }> {
    return [...this.#perSecond].sort((a, b) => a[0] - b[0]).map(([second, c]) => ({ second, ...c }));
  }

  reset(): void {
    this.resetFaults();
    this.#recipientErrors.clear();
    this.#perRecipient.clear();
    this.#perSecond.clear();
    this.messages = [];
    this.stats = FakeServer.#zero();
  }

  async close(): Promise<void> {
    clearTimeout(this.#recoverTimer);
    for (const r of this.#hanging) ('h1' in r ? r.h1.destroy() : r.h2.stream.destroy());
    this.#hanging.clear();
    for (const s of this.#h2Sessions) s.destroy();
    if (!this.#isH2) (this.#server as Server).closeAllConnections();
    if (this.#listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#listening = false;
  }

  #listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        this.#listening = true;
        resolve();
      });
    });
  }

  /**
   * Closes the port: new connections are refused. Open connections are drained, not reset: a
   * request already on one is answered (503 while down) with `Connection: close` (HTTP/2:
   * GOAWAY). Destroying idle keep-alive sockets would race with a client writing its next
   * request on them, and that request would fail ambiguously (ECONNRESET: was it received?),
   * which is a crash, not the refused-connection outage this mode models.
   */
  #stopListening(): void {
    if (!this.#listening) return;
    this.#listening = false;
    if (this.#isH2) {
      this.#server.close();
      for (const s of this.#h2Sessions) s.close();
    } else {
      // http.Server#close also closes idle keep-alive sockets (Node ≥ 19): exactly the race above.
      // net.Server#close only stops the listener.
      NetServer.prototype.close.call(this.#server);
    }
  }

  #bump(key: 'requests' | 'accepted' | 'throttled'): void {
    const sec = Math.floor(this.#now() / 1000);
    let c = this.#perSecond.get(sec);
    if (c === undefined) {
      c = { requests: 0, accepted: 0, throttled: 0 };
      this.#perSecond.set(sec, c);
      for (const k of this.#perSecond.keys()) if (k < sec - 600) this.#perSecond.delete(k);
    }
    c[key]++;
  }

  readonly #ctx: FakeContext = {
    now: () => this.#now(),
    errorFor: (recipient) => {
      const cls = this.#recipientErrors.get(recipient);
      return cls === undefined ? undefined : this.spec.errors[cls]?.();
    },
    accept: (recipient, id, fields) => {
      const m: AcceptedMessage = { id, recipient, at: this.#now(), fields };
      this.stats.accepted++;
      this.#bump('accepted');
      this.#perRecipient.set(recipient, (this.#perRecipient.get(recipient) ?? 0) + 1);
      this.messages.push(m);
      if (this.messages.length > this.#keep) this.messages.splice(0, this.messages.length - this.#keep);
      return m;
    },
  };

  /** A bug in a fake answers 500 instead of crashing the test process; a client that went away is ignored. */
  #serve(req: IncomingMessage | Http2ServerRequest, res: Res): void {
    this.#inFlight++;
    if (this.#inFlight > this.stats.maxInFlight) this.stats.maxInFlight = this.#inFlight;
    ('h1' in res ? res.h1 : res.h2).once('close', () => this.#inFlight--);
    this.#onRequest(req, res).catch((err: unknown) => {
      try {
        this.#write(res, { status: 500, body: err instanceof Error ? err.message : String(err) });
      } catch {
        // The connection is gone.
      }
    });
  }

  async #onRequest(req: IncomingMessage | Http2ServerRequest, res: Res): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) return this.#write(res, { status: 413, body: 'request body too large' });
    const target = req.url ?? '/';
    // A path without a query (every send) is taken as it is: parsing a URL and its empty query
    // for every send showed in the demo's send-path profile (URLSearchParams alone, about 1%).
    const url = target.includes('?') || !target.startsWith('/') ? new URL(target, 'http://fake') : undefined;
    const fr: FakeRequest = { method: req.method ?? 'GET', path: url?.pathname ?? target, query: url?.searchParams ?? new URLSearchParams(), headers: req.headers, body, httpVersion: req.httpVersion };
    if (fr.path.startsWith('/__fake/')) return this.#write(res, controlResponse(this, fr));
    this.stats.requests++;
    if (!this.spec.isSend(fr)) return this.#write(res, await this.spec.handle(fr, this.#ctx));
    this.stats.sends++;
    this.#bump('requests');
    const f = this.#faults;
    let response: FakeResponse | 'hang';
    const injected = this.#injected();
    if (f.outage !== null) {
      // A refused port still answers what was already in flight; 'unavailable' answers 503.
      this.stats.unavailable++;
      response = this.spec.unavailable();
    } else if (this.#throughput !== undefined && !this.#throughput.admit(this.#now())) {
      this.stats.throttled++;
      this.#bump('throttled');
      response = this.spec.throttled();
    } else if (f.hangRate > 0 && this.#random() < f.hangRate) {
      this.stats.hung++;
      response = 'hang';
    } else if (injected !== undefined) {
      this.stats.injected++;
      response = injected;
    } else {
      response = await this.spec.handle(fr, this.#ctx);
      if (response.status >= 400 && response.status < 500 && response.status !== 429) this.stats.rejected++;
    }
    const delay = f.latencyMs + (f.jitterMs > 0 ? this.#random() * f.jitterMs : 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (response === 'hang') {
      this.#hanging.add(res);
      return;
    }
    this.#write(res, response);
  }

  #injected(): FakeResponse | undefined {
    for (const [cls, rate] of Object.entries(this.#faults.errorRates)) {
      if (rate > 0 && this.#random() < rate) return this.spec.errors[cls]?.();
    }
    return undefined;
  }

  #write(res: Res, r: FakeResponse): void {
    const headers: Record<string, string> = { ...r.headers };
    if ('h1' in res) {
      // While the port is closed, keep-alive connections end with their current response.
      if (!this.#listening) headers['connection'] = 'close';
      res.h1.writeHead(r.status, headers);
      res.h1.end(r.body ?? '');
    } else {
      if (res.h2.stream.destroyed) return;
      res.h2.writeHead(r.status, headers);
      res.h2.end(r.body ?? '');
    }
  }
}

/**
 * The request's body, or undefined past MAX_BODY. Read with 'data' and 'end' listeners, not
 * `for await`: a stream's async iterator costs a promise and a tick per chunk, and the demo
 * sends tens of thousands of requests through these fakes on the thread that runs its replica.
 */
function readBody(req: IncomingMessage | Http2ServerRequest): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.off('data', onData);
        // The rest is read and dropped, so that the answer can still go out on this connection.
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
