import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { ProviderConfig } from '../../operators/sinks/providers/factory.js';
import { startApnsFake } from './apns.js';
import { startFcmFake } from './fcm.js';
import { startGupshupFake } from './gupshup.js';
import { startMsg91Fake } from './msg91.js';
import type { FakeServer } from './server.js';
import { startTwilioFake } from './twilio.js';

export interface FakeProviders {
  twilio: FakeServer;
  gupshup: FakeServer;
  msg91: FakeServer;
  fcm: FakeServer;
  apns: FakeServer;
  /** Adapter configs pointing at the fakes, with throwaway credentials: feed them to createProviderAdapter. */
  configs: { twilio: ProviderConfig; gupshup: ProviderConfig; msg91: ProviderConfig; fcm: ProviderConfig; apns: ProviderConfig };
  close(): Promise<void>;
}

export interface FakeProvidersOptions {
  /** Where the fakes send status callbacks and DLRs (the `/v1/receipts/{provider}` webhook base). */
  receiptsBaseUrl?: string;
  /** MSG91 flows by DLT template id: flow id, template text and variable count. */
  msg91Templates?: Record<string, { flowId: string; dltTemplate?: string; vars: number }>;
  now?: () => number;
  /** The fakes' key pairs; fresh ones by default. Given by a caller that starts several sets of fakes (the demo's replicas), so that it makes them once. */
  keys?: FakeProviderKeys;
}

/** The FCM service account's RSA key pair and the APNs token key's P-256 pair, as PKCS#8 and SPKI PEM: plain strings, so they cross to worker threads. */
export interface FakeProviderKeys {
  rsa: { privateKey: string; publicKey: string };
  ec: { privateKey: string; publicKey: string };
}

/** Fresh key pairs for the fakes. An RSA key takes 0.1–0.8 s of CPU here, so a caller with several sets of fakes shares one. */
export function fakeProviderKeys(): FakeProviderKeys {
  const pem = (pair: { privateKey: KeyObject; publicKey: KeyObject }) => ({
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  });
  return { rsa: pem(generateKeyPairSync('rsa', { modulusLength: 2048 })), ec: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' })) };
}

/**
 * Every provider fake on loopback, with credentials generated for this run: what the demo and
 * benchmarks start instead of real providers. Nothing here is a real secret.
 */
export async function startFakeProviders(opts: FakeProvidersOptions = {}): Promise<FakeProviders> {
  const now = opts.now ?? Date.now;
  const accountSid = `AC${'0f'.repeat(16)}`;
  const authToken = 'fake-twilio-token';
  const keys = opts.keys ?? fakeProviderKeys();
  const rsa = { privateKey: keys.rsa.privateKey, publicKey: createPublicKey(keys.rsa.publicKey) };
  const ec = { privateKey: keys.ec.privateKey, publicKey: createPublicKey(keys.ec.publicKey) };
  const email = 'nudge-fake@nudge-fake.iam.gserviceaccount.com';
  const templates = opts.msg91Templates ?? { '1107000000000000001': { flowId: 'fake-flow', vars: 1 } };
  const receipts = opts.receiptsBaseUrl?.replace(/\/+$/, '');

  // Started one by one; if one fails, those already listening are closed, or their sockets
  // would keep the caller's process alive after the error.
  const started: Array<{ close(): Promise<void> }> = [];
  const start = async <T extends { close(): Promise<void> }>(fake: Promise<T>): Promise<T> => {
    const f = await fake;
    started.push(f);
    return f;
  };
  let twilio: FakeServer, gupshup: FakeServer, msg91: FakeServer, fcm: Awaited<ReturnType<typeof startFcmFake>>, apns: Awaited<ReturnType<typeof startApnsFake>>;
  try {
    twilio = await start(startTwilioFake({ accountSid, authToken, now }));
    gupshup = await start(startGupshupFake({ userid: '2000000001', password: 'fake-gupshup', now, ...(receipts !== undefined ? { dlrUrl: `${receipts}/gupshup` } : {}) }));
    msg91 = await start(startMsg91Fake({ authkey: 'fake-msg91', flows: Object.fromEntries(Object.values(templates).map((t) => [t.flowId, t.vars])), now }));
    const f = await startFcmFake({ projectId: 'nudge-fake', clientEmail: email, publicKey: rsa.publicKey, now });
    started.push(f.server);
    fcm = f;
    const a = await startApnsFake({ teamId: 'FAKETEAM01', keyId: 'FAKEKEY001', publicKey: ec.publicKey, topics: ['com.example.nudge'], now });
    started.push(a.server);
    apns = a;
  } catch (err) {
    await Promise.all(started.map((f) => f.close().catch(() => undefined)));
    throw err;
  }

  const configs: FakeProviders['configs'] = {
    twilio: { type: 'twilio', baseUrl: twilio.url, accountSid, authToken, from: '+15005550006', ...(receipts !== undefined ? { statusCallbackUrl: `${receipts}/twilio` } : {}) },
    gupshup: { type: 'gupshup', baseUrl: gupshup.url, userid: '2000000001', password: 'fake-gupshup' },
    msg91: { type: 'msg91', baseUrl: msg91.url, authkey: 'fake-msg91', templates: Object.fromEntries(Object.entries(templates).map(([id, t]) => [id, { flowId: t.flowId, ...(t.dltTemplate !== undefined ? { dltTemplate: t.dltTemplate } : {}) }])) },
    fcm: { type: 'fcm', baseUrl: fcm.server.url, projectId: 'nudge-fake', tokenUrl: fcm.tokenUrl, serviceAccount: { client_email: email, private_key: rsa.privateKey, token_uri: fcm.tokenUrl } },
    apns: { type: 'apns', baseUrl: apns.server.url, ca: apns.ca, topic: 'com.example.nudge', keyId: 'FAKEKEY001', teamId: 'FAKETEAM01', privateKey: ec.privateKey },
  };
  return {
    twilio,
    gupshup,
    msg91,
    fcm: fcm.server,
    apns: apns.server,
    configs,
    async close() {
      await Promise.all([twilio.close(), gupshup.close(), msg91.close(), fcm.server.close(), apns.server.close()]);
    },
  };
}
