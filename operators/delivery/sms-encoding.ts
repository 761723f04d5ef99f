/**
 * How an SMS body will be encoded and how many billed segments it takes (providers bill per
 * segment; notes/messaging.md). Pure.
 *
 * GSM-7 (3GPP TS 23.038 default alphabet) when every character is in the basic table or its
 * extension table; otherwise the WHOLE message is UCS-2 (one ₹, curly quote or emoji is enough).
 */

/**
 * The 3GPP 23.038 default alphabet in table order (0x00–0x7F), without 0x1B (the escape to
 * the extension table, not a character). One septet each.
 */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table's characters: each is ESC + one septet, so 2 units. Form feed is one of them. */
const GSM7_EXTENSION = '\f^{}\\[~]|€';

const UNITS = new Map<string, 1 | 2>();
for (const ch of GSM7_BASIC) if (ch !== '\x1b') UNITS.set(ch, 1);
for (const ch of GSM7_EXTENSION) UNITS.set(ch, 2);

/** Size of the basic table as built (127: 128 positions less the escape); exported for tests. */
export const GSM7_BASIC_SIZE = [...GSM7_BASIC].filter((c) => c !== '\x1b').length;

export const GSM7_SINGLE = 160;
/** A concatenated part loses 7 septets to the user data header (6 bytes). */
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
/** A concatenated part loses 3 UTF-16 units to the header. */
export const UCS2_PART = 67;

export type SmsEncodingName = 'GSM-7' | 'UCS-2';

export interface SmsEncoding {
  encoding: SmsEncodingName;
  /** GSM-7 septets (extension characters count 2) or UCS-2 UTF-16 code units (an emoji counts 2). */
  units: number;
  /** Billed segments: 1 when it fits a single message, else the concatenated parts. */
  segments: number;
}

/**
 * Parts needed for characters of the given sizes, packed in order, when a part holds
 * `perPart` units and no character may be split across two parts. For GSM-7 that keeps an
 * escape sequence (ESC + septet) whole, so a part that would end on the escape holds 152;
 * for UCS-2 it keeps a surrogate pair (an emoji) whole, so such a part holds 66. Handsets
 * and gateways do the same: a split pair or escape renders as garbage.
 */
function parts(sizes: readonly number[], perPart: number): number {
  let count = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > perPart) {
      count++;
      used = size;
    } else {
      used += size;
    }
  }
  return count;
}

/**
 * The encoding, units and segments of `text`. An empty text is 1 segment of 0 units: if it
 * were sent it would still be one (billed) message; refusing empty bodies is the template
 * check's job, not this function's.
 */
export function smsEncoding(text: string): SmsEncoding {
  const gsm: number[] = [];
  let isGsm = true;
  for (const ch of text) {
    const u = UNITS.get(ch);
    if (u === undefined) {
      isGsm = false;
      break;
    }
    gsm.push(u);
  }
  if (isGsm) {
    let units = 0;
    for (const u of gsm) units += u;
    return { encoding: 'GSM-7', units, segments: units <= GSM7_SINGLE ? 1 : parts(gsm, GSM7_PART) };
  }
  // UCS-2 as phones send it is really UTF-16: a code point above U+FFFF takes a surrogate pair.
  const units = text.length;
  if (units <= UCS2_SINGLE) return { encoding: 'UCS-2', units, segments: 1 };
  const sizes: number[] = [];
  for (const ch of text) sizes.push(ch.length);
  return { encoding: 'UCS-2', units, segments: parts(sizes, UCS2_PART) };
}

/**
 * Cost of `segments` at `pricePerSegment`, rounded to millionths of the currency unit: below
 * any provider's billing precision, and it keeps 3 × 0.07 from becoming 0.21000000000000002
 * in budgets and logs.
 */
export function segmentCost(segments: number, pricePerSegment: number): number {
  if (!Number.isInteger(segments) || segments < 0) throw new RangeError(`segments must be a non-negative integer, got ${segments}`);
  if (!Number.isFinite(pricePerSegment) || pricePerSegment < 0) throw new RangeError(`pricePerSegment must be a non-negative number, got ${pricePerSegment}`);
  return Math.round(segments * pricePerSegment * 1e6) / 1e6;
}
