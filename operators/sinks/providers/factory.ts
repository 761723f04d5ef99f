import type { Dispatcher } from 'undici';
import { ConfigError } from '../../../errors/index.js';
import { ApnsProviderToken } from './apns-auth.js';
import { APNS_PRODUCTION, createApnsAdapter, createApnsClient } from './apns.js';
import { FcmAccessTokens, type ServiceAccount } from './fcm-auth.js';
import { createFcmAdapter } from './fcm.js';
import { createGupshupAdapter } from './gupshup.js';
import { createMsg91Adapter, type Msg91Template } from './msg91.js';
import type { ProviderAdapter } from './provider.js';
import type { PushPlatform } from './targets.js';
import { createTwilioAdapter } from './twilio.js';

interface Common {
  /** Name in records and metrics; defaults to the type. */
  name?: string;
  /** Point at a fake, a proxy or a regional endpoint; defaults to the provider's production URL. */
  baseUrl?: string;
  timeoutMs?: number;
}

/** Provider settings with credentials already resolved (config/secrets.ts): never logged. */
export type ProviderConfig =
  | (Common & { type: 'twilio'; accountSid: string; authToken: string; from?: string; messagingServiceSid?: string; statusCallbackUrl?: string })
  | (Common & { type: 'gupshup'; userid: string; password: string; principalEntityId?: string; mask?: string })
  | (Common & { type: 'msg91'; authkey: string; templates: Record<string, Msg91Template>; shortUrl?: boolean })
  | (Common & { type: 'fcm'; projectId: string; serviceAccount: ServiceAccount; tokenUrl?: string; platforms?: PushPlatform[] })
  | (Common & { type: 'apns'; topic: string; keyId: string; teamId: string; privateKey: string; tokenRefreshMs?: number; ca?: string });

export interface AdapterDeps {
  /** Epoch ms: the runtime's clock. */
  now: () => number;
  /** HTTP/1.1 pool shared by the HTTP providers (an undici Agent with keep-alive). */
  dispatcher: Dispatcher;
  /** HTTP/2 client for APNs; when absent the adapter opens its own (createApnsClient) and closes it on close(). */
  apnsDispatcher?: Dispatcher;
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

/** Builds one adapter from its config: what the runtime calls per configured provider. */
export function createProviderAdapter(config: ProviderConfig, deps: AdapterDeps): ProviderAdapter {
  const common = { ...opt('name', config.name), ...opt('baseUrl', config.baseUrl), ...opt('timeoutMs', config.timeoutMs), now: deps.now };
  switch (config.type) {
    case 'twilio':
      return createTwilioAdapter({ ...common, dispatcher: deps.dispatcher, accountSid: config.accountSid, authToken: config.authToken, ...opt('from', config.from), ...opt('messagingServiceSid', config.messagingServiceSid), ...opt('statusCallbackUrl', config.statusCallbackUrl) });
    case 'gupshup':
      return createGupshupAdapter({ ...common, dispatcher: deps.dispatcher, userid: config.userid, password: config.password, ...opt('principalEntityId', config.principalEntityId), ...opt('mask', config.mask) });
    case 'msg91':
      return createMsg91Adapter({ ...common, dispatcher: deps.dispatcher, authkey: config.authkey, templates: config.templates, ...opt('shortUrl', config.shortUrl) });
    case 'fcm': {
      const auth = new FcmAccessTokens({ serviceAccount: config.serviceAccount, dispatcher: deps.dispatcher, now: deps.now, ...opt('tokenUrl', config.tokenUrl) });
      return createFcmAdapter({ ...common, dispatcher: deps.dispatcher, projectId: config.projectId, auth, ...opt('platforms', config.platforms) });
    }
    case 'apns': {
      const token = new ApnsProviderToken({ keyId: config.keyId, teamId: config.teamId, privateKey: config.privateKey, now: deps.now, ...opt('refreshMs', config.tokenRefreshMs) });
      const owned = deps.apnsDispatcher === undefined ? createApnsClient(config.baseUrl ?? APNS_PRODUCTION, opt('ca', config.ca)) : undefined;
      const adapter = createApnsAdapter({ ...common, dispatcher: deps.apnsDispatcher ?? (owned as Dispatcher), topic: config.topic, token });
      return { ...adapter, send: adapter.send, close: async () => owned?.close() };
    }
    default: {
      const never: never = config;
      throw new ConfigError('providers[].type', `unknown provider type ${(never as { type: string }).type}`, 'twilio, gupshup, msg91, fcm, apns');
    }
  }
}
