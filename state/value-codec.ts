import { Packr } from 'msgpackr';

/**
 * Values are plain MessagePack: self-describing, so a store written by one version
 * reads in the next without a shared structure table (msgpackr "records" are off).
 */
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number', mapsAsObjects: true });

export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decodeValue<V>(bytes: Uint8Array): V {
  return packr.unpack(bytes) as V;
}
