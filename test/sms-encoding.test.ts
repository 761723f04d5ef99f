import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GSM7_BASIC_SIZE, segmentCost, smsEncoding } from '../operators/delivery/sms-encoding.js';

/** The whole 3GPP 23.038 basic table, escape excluded, as printable test data (order irrelevant here). */
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION = '\f^{}\\[]~|€';

test('sms: "Hello" is GSM-7, 5 units, 1 segment', () => {
  assert.deepEqual(smsEncoding('Hello'), { encoding: 'GSM-7', units: 5, segments: 1 });
});

test('sms: every basic GSM-7 character is 1 unit, every extension character 2', () => {
  assert.equal(GSM7_BASIC_SIZE, 127, '128 positions less the escape');
  assert.equal([...BASIC].length, 127);
  assert.deepEqual(smsEncoding(BASIC), { encoding: 'GSM-7', units: 127, segments: 1 });
  for (const ch of BASIC) assert.deepEqual(smsEncoding(ch), { encoding: 'GSM-7', units: 1, segments: 1 }, JSON.stringify(ch));
  for (const ch of EXTENSION) assert.deepEqual(smsEncoding(ch), { encoding: 'GSM-7', units: 2, segments: 1 }, JSON.stringify(ch));
});

test('sms: 160 GSM characters are 1 segment, 161 are 2 (153 + 8)', () => {
  assert.deepEqual(smsEncoding('a'.repeat(160)), { encoding: 'GSM-7', units: 160, segments: 1 });
  assert.deepEqual(smsEncoding('a'.repeat(161)), { encoding: 'GSM-7', units: 161, segments: 2 });
  assert.equal(smsEncoding('a'.repeat(306)).segments, 2, '2 × 153');
  assert.equal(smsEncoding('a'.repeat(307)).segments, 3);
});

test('sms: € counts 2 units and stays GSM-7', () => {
  assert.deepEqual(smsEncoding('Only €5'), { encoding: 'GSM-7', units: 8, segments: 1 });
  // 159 plain characters + € = 161 units: two segments although it is 160 characters.
  assert.deepEqual(smsEncoding(`${'a'.repeat(159)}€`), { encoding: 'GSM-7', units: 161, segments: 2 });
  assert.deepEqual(smsEncoding(`${'a'.repeat(158)}€`), { encoding: 'GSM-7', units: 160, segments: 1 });
});

test('sms: an escape sequence is never split across parts (a part that would end on ESC holds 152)', () => {
  // 152 plain + € (units 153–154) + 8 plain = 162 units, 2 parts either way: part 1 holds 152
  // and the whole € goes to part 2 (10 units).
  const split = `${'a'.repeat(152)}€${'b'.repeat(8)}`;
  assert.deepEqual(smsEncoding(split), { encoding: 'GSM-7', units: 162, segments: 2 });
  // Where it changes the bill: 152 + € + 152 plain = 306 units, exactly 2 × 153, yet 3 parts,
  // because part 1 cannot end on the escape and holds 152 (then 154 more do not fit in one part).
  assert.deepEqual(smsEncoding(`${'a'.repeat(152)}€${'b'.repeat(152)}`), { encoding: 'GSM-7', units: 306, segments: 3 });
  // The € fully inside part 1 (units 152–153) is fine: 151 + € + 153 plain = 306 units = 2 parts.
  assert.deepEqual(smsEncoding(`${'a'.repeat(151)}€${'b'.repeat(153)}`), { encoding: 'GSM-7', units: 306, segments: 2 });
});

test('sms: "₹499 off" is UCS-2: one character outside GSM-7 switches the whole message', () => {
  assert.deepEqual(smsEncoding('₹499 off'), { encoding: 'UCS-2', units: 8, segments: 1 });
  // The same length in GSM-7 would be 1 segment; with a ₹ it is 3.
  const promo = `₹499 off ${'x'.repeat(140)}`;
  assert.equal(smsEncoding(promo.replace('₹', 'Rs')).segments, 1);
  assert.equal(smsEncoding(promo).segments, 3);
});

test('sms: curly quotes force UCS-2; straight ones do not', () => {
  assert.equal(smsEncoding("Don't miss out").encoding, 'GSM-7');
  assert.deepEqual(smsEncoding('Don’t miss out'), { encoding: 'UCS-2', units: 14, segments: 1 });
  assert.equal(smsEncoding('“Sale”').encoding, 'UCS-2');
  assert.equal(smsEncoding('ç').encoding, 'UCS-2', 'only capital Ç is in the default alphabet');
});

test('sms: UCS-2 is 70 units in one segment, 67 per part', () => {
  assert.deepEqual(smsEncoding('न'.repeat(70)), { encoding: 'UCS-2', units: 70, segments: 1 });
  assert.deepEqual(smsEncoding('न'.repeat(71)), { encoding: 'UCS-2', units: 71, segments: 2 });
  assert.equal(smsEncoding('न'.repeat(134)).segments, 2);
  assert.equal(smsEncoding('न'.repeat(135)).segments, 3);
});

test('sms: a 140-character Hindi text is 3 segments (the same length in English is 1)', () => {
  const hindi = 'आज रात तक सभी जूतों पर चालीस प्रतिशत की छूट। अभी खरीदें और मुफ्त डिलीवरी पाएं। ऑफर सीमित समय के लिए है, जल्दी करें! धन्यवाद, टीम';
  const text = hindi.slice(0, 140).padEnd(140, 'ा');
  assert.equal(text.length, 140);
  assert.deepEqual(smsEncoding(text), { encoding: 'UCS-2', units: 140, segments: 3 }, '140 / 67 → 3');
  assert.equal(smsEncoding('a'.repeat(140)).segments, 1);
});

test('sms: an emoji is 2 UCS-2 units and a surrogate pair is never split', () => {
  assert.deepEqual(smsEncoding('Sale 🔥'), { encoding: 'UCS-2', units: 7, segments: 1 });
  assert.deepEqual(smsEncoding('🔥'.repeat(35)), { encoding: 'UCS-2', units: 70, segments: 1 });
  assert.deepEqual(smsEncoding('🔥'.repeat(36)), { encoding: 'UCS-2', units: 72, segments: 2 });
  // 66 units + an emoji (units 67–68) + 66 units = 134 = 2 × 67, but the emoji cannot end part 1
  // on its high surrogate: part 1 holds 66, part 2 gets 68, so 3 parts.
  assert.deepEqual(smsEncoding(`${'न'.repeat(66)}🔥${'न'.repeat(66)}`), { encoding: 'UCS-2', units: 134, segments: 3 });
  assert.deepEqual(smsEncoding(`${'न'.repeat(65)}🔥${'न'.repeat(67)}`), { encoding: 'UCS-2', units: 134, segments: 2 });
});

test('sms: an empty text is 1 segment of 0 units', () => {
  assert.deepEqual(smsEncoding(''), { encoding: 'GSM-7', units: 0, segments: 1 });
});

test('sms: segmentCost is segments × price, without float noise, and refuses nonsense', () => {
  assert.equal(segmentCost(3, 0.07), 0.21);
  assert.equal(segmentCost(1, 0.12), 0.12);
  assert.equal(segmentCost(0, 0.12), 0);
  assert.equal(segmentCost(smsEncoding('₹499 off '.padEnd(150, 'x')).segments, 0.12), 0.36);
  assert.throws(() => segmentCost(1.5, 0.12), RangeError);
  assert.throws(() => segmentCost(-1, 0.12), RangeError);
  assert.throws(() => segmentCost(1, Number.NaN), RangeError);
});
