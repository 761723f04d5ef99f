import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client over a raw TCP socket that can stop reading (`pause`), so a test
 * can make the server's per-socket backpressure build up, which a normal client never
 * lets happen. It parses only what the server sends: unmasked, unfragmented frames.
 */
export class RawWsClient {
  readonly socket: Socket;
  /** Text frames received, in order. */
  readonly texts: string[] = [];
  bytes = 0;
  #buffer = Buffer.alloc(0);
  #handshake = true;

  private constructor(socket: Socket) {
    this.socket = socket;
  }

  static open(port: number, path: string, headers: Record<string, string>): Promise<RawWsClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const client = new RawWsClient(socket);
      socket.on('error', reject);
      socket.on('connect', () => {
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
      });
      socket.on('data', (d: Buffer) => {
        client.bytes += d.length;
        client.#buffer = Buffer.concat([client.#buffer, d]);
        if (client.#handshake) {
          const end = client.#buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = client.#buffer.subarray(0, end).toString('latin1');
          client.#buffer = client.#buffer.subarray(end + 4);
          client.#handshake = false;
          if (!head.startsWith('HTTP/1.1 101')) {
            reject(new Error(`upgrade refused: ${head.split('\r\n')[0] ?? ''}`));
            socket.destroy();
            return;
          }
          resolve(client);
        }
        client.#parse();
      });
    });
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }

  #parse(): void {
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const opcode = (b[0] ?? 0) & 0x0f;
      let len = (b[1] ?? 0) & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) return;
      if (opcode === 1) this.texts.push(b.subarray(at, at + len).toString('utf8'));
      this.#buffer = b.subarray(at + len);
    }
  }
}
