/**
 * Generators of hostile HTTP traffic for the fuzz test: random methods, paths, headers,
 * framings and bodies, as raw byte sequences with how to send them. Seeded, so a failing
 * run can be replayed with the seed it prints.
 */

export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 1;
  }
  /** xorshift32: tiny and good enough to pick cases. */
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export interface FuzzCase {
  kind: string;
  parts: Buffer[];
  /** Milliseconds between parts (slow clients, mid-body pauses). */
  gapMs: number;
  /** Drop the connection right after the last part (truncated or aborted requests). */
  destroyAfterWrite: boolean;
}

// Weighted towards the methods routes exist for, so most cases reach a handler.
const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'POST', 'POST', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'CONNECT', 'TRACE', 'BREW', 'get', 'P0ST', '', 'G E T', 'POST\u0000'];
const PATHS = [
  '/', '/healthz', '/readyz', '/metrics', '/v1/eligibility', '/v1/users/u1', '/v1/users/', '/v1/users/%', '/v1/users/%E0%A4%A', '/v1/users/a/b',
  '/v1/receipts/twilio?userId=u1', '/v1/receipts/gupshup?userId=u1&externalId=E&status=SUCCESS', '/v1/receipts/%2e%2e', '/v1/receipts/twilio-x?token=bad',
  '/v1/live', '/v1/live?token=', '//', '/..%2f..%2fetc/passwd', '*', 'http://evil/', '/\u00ff\u00fe', `/${'a'.repeat(5000)}`, '/?x=' + '%'.repeat(300), '',
];

export function fuzzCase(rng: Rng, token: string): FuzzCase {
  const roll = rng.int(10);
  if (roll === 0) {
    // Pure garbage bytes.
    return { kind: 'garbage', parts: [rng.bytes(1 + rng.int(4096))], gapMs: 0, destroyAfterWrite: rng.chance(0.5) };
  }
  const method = rng.pick(METHODS);
  const path = rng.pick(PATHS);
  const headers: string[] = ['Host: fuzz'];
  if (rng.chance(0.6)) headers.push(`Authorization: ${rng.pick([`Bearer ${token}`, 'Bearer wrong', 'Bearer', 'Basic Zm9vOmJhcg==', `bearer  ${token}  `, 'Bearer ' + 'x'.repeat(3000)])}`);
  if (rng.chance(0.3)) headers.push(`Content-Type: ${rng.pick(['application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', '\u0001'])}`);
  if (rng.chance(0.15)) headers.push(rng.pick(['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: !!!', 'Sec-WebSocket-Version: 99', 'Expect: 100-continue']));
  if (rng.chance(0.1)) headers.push(`X-${'h'.repeat(rng.int(100))}: ${'v'.repeat(rng.chance(0.2) ? rng.int(8000) : rng.int(1000))}`);
  if (rng.chance(0.05)) for (let i = 0; i < 200; i++) headers.push(`X-Many-${i}: ${i}`);

  const body = randomBody(rng, token);
  const framing = rng.int(6);
  let bodyBytes: Buffer[] = [];
  if (framing === 0) {
    headers.push(`Content-Length: ${body.length}`);
    bodyBytes = [body];
  } else if (framing === 1) {
    // A lie: declared length differs from what is sent.
    headers.push(`Content-Length: ${rng.pick([0, 1, body.length + 100, 10_000_000, -1, 'abc', '99999999999999999999999'])}`);
    bodyBytes = [body];
  } else if (framing === 2) {
    headers.push('Transfer-Encoding: chunked');
    bodyBytes = chunked(rng, body);
  } else if (framing === 3) {
    headers.push('Transfer-Encoding: chunked', `Content-Length: ${body.length}`);
    bodyBytes = chunked(rng, body);
  } else if (framing === 4) {
    // Aborted mid-body: declare everything, send part, hang up.
    headers.push(`Content-Length: ${body.length + 500}`);
    return {
      kind: 'aborted-mid-body',
      parts: [Buffer.from(`${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body.subarray(0, Math.max(0, body.length - 1))],
      gapMs: rng.int(30),
      destroyAfterWrite: true,
    };
  }
  const head = Buffer.from(`${method} ${path} ${rng.chance(0.95) ? 'HTTP/1.1' : rng.pick(['HTTP/1.0', 'HTTP/2', 'HTTP/9.9', ''])}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
  const all = Buffer.concat([head, ...bodyBytes]);
  if (rng.chance(0.15)) {
    // Truncated anywhere, even inside the request line.
    return { kind: 'truncated', parts: [all.subarray(0, rng.int(all.length))], gapMs: 0, destroyAfterWrite: true };
  }
  if (rng.chance(0.2)) {
    // Dribbled in small pieces, as a slow or malicious client would.
    const parts: Buffer[] = [];
    for (let at = 0; at < all.length; ) {
      const n = 1 + rng.int(64);
      parts.push(all.subarray(at, at + n));
      at += n;
    }
    return { kind: 'dribbled', parts: parts.slice(0, 40), gapMs: 1, destroyAfterWrite: rng.chance(0.5) };
  }
  if (rng.chance(0.1)) {
    // Pipelined: a second request behind the first on one connection.
    return { kind: 'pipelined', parts: [all, Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`)], gapMs: 0, destroyAfterWrite: false };
  }
  return { kind: `framing-${framing}`, parts: [all], gapMs: 0, destroyAfterWrite: rng.chance(0.2) };
}

function randomBody(rng: Rng, token: string): Buffer {
  switch (rng.int(7)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return Buffer.from('{"userId":"u1","campaignId":"c1"}');
    case 2:
      return Buffer.from(`{"userId":${rng.pick(['null', '1', '[]', '{}', '"' + 'x'.repeat(300) + '"', '"\\ud800"'])},"campaign":${rng.pick(['1', 'null', '{}', '[]', '{"a":' + '['.repeat(2000) + '}'])}}`);
    case 3:
      return Buffer.from(`MessageSid=SM${rng.int(1e6)}&MessageStatus=${rng.pick(['sent', 'delivered', 'failed', 'bogus', ''])}&ErrorCode=${rng.int(40000)}&token=${token}&response=${rng.pick(['%5B%5D', '%5B1%5D', '%5B%7B%7D%5D', '%5B', 'x'])}`);
    case 4:
      return rng.bytes(rng.int(3000));
    case 5:
      return Buffer.from('{"a":'.repeat(rng.int(500)));
    default:
      return Buffer.from('x'.repeat(rng.int(4000)));
  }
}

function chunked(rng: Rng, body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const n = 1 + rng.int(700);
    const piece = body.subarray(at, at + n);
    const size = rng.chance(0.05) ? rng.pick(['zz', '-1', 'fffffffffffffffff', '']) : piece.length.toString(16);
    out.push(Buffer.from(`${size}\r\n`), piece, Buffer.from('\r\n'));
    at += n;
  }
  if (rng.chance(0.9)) out.push(Buffer.from('0\r\n\r\n'));
  return out;
}
