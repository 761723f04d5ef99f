import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { derInteger, selfSignedCertificate } from '../bench/fakes/self-signed.js';

test('DER integers take their shortest form: no leading zero byte unless the next byte has its high bit set', () => {
  const hex = (b: Buffer) => derInteger(b).toString('hex');
  assert.equal(hex(Buffer.from([0x05])), '020105');
  assert.equal(hex(Buffer.from([0x80])), '02020080', 'a leading 1 bit gets a zero byte');
  assert.equal(hex(Buffer.from([0x00, 0x1f, 0xaa])), '02021faa', 'a random serial starting 0x00: the zero goes (OpenSSL: illegal padding)');
  assert.equal(hex(Buffer.from([0x00, 0x00, 0x80])), '02020080');
  assert.equal(hex(Buffer.from([0x00])), '020100');
});

test('the provider fakes’ certificate parses and verifies, however its random serial falls', () => {
  for (let i = 0; i < 20; i++) {
    const { cert } = selfSignedCertificate();
    const x509 = new X509Certificate(cert);
    assert.ok(x509.checkHost('localhost') !== undefined && x509.checkIP('127.0.0.1') !== undefined);
    assert.ok(/^[0-7]/.test(x509.serialNumber) && !/^0+$/.test(x509.serialNumber), `serial ${x509.serialNumber} positive and non-zero`);
  }
});
