import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hydrate, pickTemplate, templateVariables, TemplateError } from '../operators/delivery/template.js';
import type { Campaign } from '../processor/messages/index.js';

const campaign = (templates: Campaign['templates'], defaultLanguage?: string): Campaign =>
  ({ campaignId: 'c', kind: 'promotional', channels: ['sms'], window: { start: 0, end: 1 }, deadline: 'soft', templates, ...(defaultLanguage ? { defaultLanguage } : {}) }) as Campaign;

test('hydrate: every {{var}} replaced, spaces inside braces allowed, text without variables returned as is', () => {
  assert.equal(hydrate('{{name}}, 40% off {{ product }} till {{name}}!', { name: 'Asha', product: 'shoes' }), 'Asha, 40% off shoes till Asha!');
  assert.equal(hydrate('{{n}}', { n: 0 }), '0');
  assert.equal(hydrate('no variables', {}), 'no variables');
  assert.equal(hydrate('{{a}}{{b}}', (k) => k.toUpperCase()), 'AB', 'a lookup function works as well as a record');
  // The parse is cached per template text: the same template with other values is hydrated afresh.
  assert.equal(hydrate('{{name}}, 40% off {{ product }} till {{name}}!', { name: 'Ravi', product: 'a kurta' }), 'Ravi, 40% off a kurta till Ravi!');
  assert.deepEqual(templateVariables('{{a}} and {{ b.c }}'), ['a', 'b.c']);
});

test('hydrate: a missing or empty variable is a TemplateError naming it, never an empty gap', () => {
  for (const vars of [{}, { product: '' }]) {
    assert.throws(
      () => hydrate('40% off {{product}}', vars),
      (err: unknown) => err instanceof TemplateError && err.variable === 'product' && /\{\{product\}\}/.test(err.message),
    );
  }
});

test('pickTemplate: the user\'s language, its base language, the campaign default, then English', () => {
  const c = campaign({ en: { sms: { body: 'en' } }, hi: { sms: { body: 'hi' } }, ta: { sms: { body: 'ta' } } } as Campaign['templates'], 'ta');
  assert.equal(pickTemplate(c, 'sms', 'hi')?.template.body, 'hi');
  assert.equal(pickTemplate(c, 'sms', 'hi-IN')?.language, 'hi');
  assert.equal(pickTemplate(c, 'sms', 'bn')?.language, 'ta', 'no Bengali: the campaign default');
  assert.equal(pickTemplate(campaign({ en: { sms: { body: 'en' } } } as Campaign['templates']), 'sms', 'bn')?.language, 'en');
  assert.equal(pickTemplate(c, 'sms', undefined)?.language, 'ta');
  assert.equal(pickTemplate(c, 'push', 'hi'), undefined, 'no push template at all');
});
