/** Provider adapters: one per provider, each speaking its real wire format through an injected dispatcher. */
export { type ProviderAdapter, type ProviderResult, type ProviderSent, type ProviderFailed, type ProviderRetry, type ProviderAction, type Send, parseRetryAfter } from './provider.js';
export { createProviderAdapter, type ProviderConfig, type AdapterDeps } from './factory.js';
export { createTwilioAdapter, classifyTwilioError, parseTwilioStatusCallback, type TwilioOptions, type TwilioStatus } from './twilio.js';
export { createGupshupAdapter, classifyGupshupError, parseGupshupDlr, GUPSHUP_ERRORS, type GupshupOptions, type GupshupDlr } from './gupshup.js';
export { createMsg91Adapter, classifyMsg91Reply, type Msg91Options, type Msg91Template } from './msg91.js';
export { compileDltTemplate, msg91Variables } from './msg91-variables.js';
export { createFcmAdapter, classifyFcmError, fcmMessage, FCM_MAX_PAYLOAD_BYTES, type FcmOptions } from './fcm.js';
export { FcmAccessTokens, FCM_SCOPE, GOOGLE_TOKEN_URL, type FcmAuthOptions, type ServiceAccount } from './fcm-auth.js';
export { createApnsAdapter, createApnsClient, classifyApnsError, apnsPayload, APNS_PRODUCTION, APNS_SANDBOX, type ApnsOptions } from './apns.js';
export { ApnsProviderToken, APNS_MIN_REFRESH_MS, APNS_MAX_REFRESH_MS, type ApnsTokenOptions } from './apns-auth.js';
export { perDevice, pushToken, smsNumber, type PushPlatform } from './targets.js';
