import { fromBufferKey, toBufferKey } from 'ordered-binary';

/** A store key: a tuple of strings and numbers, ordered element by element (negative numbers first). */
export type KeyPart = string | number;
export type KeyTuple = readonly KeyPart[];

/**
 * Order-preserving binary keys (the encoding lmdb-js itself uses), prefixed by one
 * namespace byte per logical store so that every store of a partition shares one
 * engine keyspace and one atomic write.
 */
export function encodeKey(namespace: number, key: KeyTuple): Uint8Array {
  // -0 === 0, but ordered-binary encodes -0 as a sign bit that neither sorts nor decodes as a number.
  const body = toBufferKey(key.map((part) => (part === 0 ? 0 : part)));
  const out = new Uint8Array(body.length + 1);
  out[0] = namespace;
  out.set(body, 1);
  return out;
}

export function decodeKey(bytes: Uint8Array): KeyTuple {
  const decoded = fromBufferKey(Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.byteLength - 1)) as KeyPart | KeyPart[];
  // ordered-binary writes a one-element tuple exactly like its element.
  return Array.isArray(decoded) ? decoded : [decoded];
}

/** Bounds of every key that starts with the tuple `prefix` (element-wise, not byte-wise). */
export function prefixBounds(namespace: number, prefix: KeyTuple): { gte: Uint8Array; lt?: Uint8Array } {
  // The last namespace (0xff) has no byte above it: its keys run to the end of the keyspace.
  if (prefix.length === 0) return namespace < 0xff ? { gte: Uint8Array.of(namespace), lt: Uint8Array.of(namespace + 1) } : { gte: Uint8Array.of(namespace) };
  const base = encodeKey(namespace, prefix);
  // Elements are separated by a 0x00 byte, so prefix+0x00 … prefix+0x01 holds exactly the longer tuples;
  // the exact key itself sorts just before and is included separately by the caller when wanted.
  const gte = new Uint8Array(base.length + 1);
  gte.set(base);
  const lt = new Uint8Array(base.length + 1);
  lt.set(base);
  lt[base.length] = 1;
  return { gte, lt };
}

/** Rejects key parts the encoding cannot keep in order (NUL separates elements). */
export function isEncodableKeyPart(part: unknown): part is KeyPart {
  if (typeof part === 'number') return Number.isFinite(part);
  return typeof part === 'string' && !part.includes('\u0000');
}
