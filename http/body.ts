import { ClientAbortedError, HttpError, HttpErrorCodes } from './errors.js';
import type { Exchange } from './exchange.js';

/** The framing headers of a request, copied before the uWS request object goes away. */
export interface BodyFraming {
  contentLength: string;
  transferEncoding: string;
}

export function declaresBody(framing: BodyFraming): boolean {
  return framing.transferEncoding !== '' || (framing.contentLength !== '' && framing.contentLength !== '0');
}

/**
 * Reads a request body of at most `limit` bytes. Must be called synchronously inside the
 * uWS handler (data may arrive right after it returns).
 *
 * The limit is enforced twice: a declared Content-Length over it is refused before a
 * byte is read, and the bytes are counted as they arrive, because chunked bodies declare
 * nothing and the declaration is only the client's word. On overflow it answers 413 at
 * once (closing the connection), rejects, and keeps nothing more.
 */
export function readBody(ex: Exchange, limit: number, framing: BodyFraming): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(413, HttpErrorCodes.PAYLOAD_TOO_LARGE, `request body exceeds ${limit} bytes`, { closeConnection: true });

  if (framing.contentLength !== '') {
    if (!/^\d{1,15}$/.test(framing.contentLength)) {
      return rejected(new HttpError(400, HttpErrorCodes.INVALID_CONTENT_LENGTH, 'Content-Length is not a number', { closeConnection: true }));
    }
    if (Number(framing.contentLength) > limit) return rejected(tooLarge());
  }
  if (!declaresBody(framing)) return Promise.resolve(Buffer.alloc(0));

  ex.bodyPending = true;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    ex.onAbort(() => {
      if (settled) return;
      settled = true;
      reject(new ClientAbortedError());
    });
    const onChunk = (chunk: ArrayBuffer, isLast: boolean): void => {
      received += chunk.byteLength;
      if (received > limit) {
        settled = true;
        chunks.length = 0;
        const err = tooLarge();
        // Answer now, whatever the handler is awaiting: the point is to stop reading early.
        ex.fail(err);
        reject(err);
        return;
      }
      // uWS neuters the ArrayBuffer when this callback returns: copy it.
      if (chunk.byteLength > 0) chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) {
        settled = true;
        ex.bodyPending = false;
        resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, received));
      }
    };
    ex.res.onData((chunk, isLast) => {
      // uWS keeps calling after we answered (the rest of a refused body): ignore it.
      if (settled) return;
      try {
        onChunk(chunk, isLast);
      } catch (err) {
        // Inside a uWS callback nothing may escape; fail the request instead.
        settled = true;
        chunks.length = 0;
        reject(err);
      }
    });
  });
}

function rejected(err: HttpError): Promise<Buffer> {
  const p = Promise.reject(err);
  // The handler awaits it; this only keeps an early rejection from counting as unhandled
  // in the instant before it does.
  p.catch(() => undefined);
  return p;
}

/** Parses a JSON body; malformed input is the client's error (400), never a 500. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new HttpError(400, HttpErrorCodes.MALFORMED_JSON, 'request body is empty; expected JSON');
  const text = decodeUtf8(body);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, HttpErrorCodes.MALFORMED_JSON, `malformed JSON: ${err instanceof Error ? err.message : 'parse error'}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new HttpError(400, HttpErrorCodes.INVALID_UTF8, 'request body is not valid UTF-8');
  }
}
