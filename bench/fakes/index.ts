/** Loopback fakes of the providers nudge sends through: tests, the demo and benchmarks point adapters at them. */
export { FakeServer, type AcceptedMessage, type FakeRequest, type FakeResponse, type FakeServerOptions, type FakeSpec, type FakeStats } from './server.js';
export { NO_FAULTS, type Faults } from './faults.js';
export { startTwilioFake, twilioSpec, type TwilioFakeOptions } from './twilio.js';
export { startGupshupFake, gupshupSpec, type GupshupFakeOptions } from './gupshup.js';
export { startMsg91Fake, msg91Spec, type Msg91FakeOptions } from './msg91.js';
export { startFcmFake, fcmSpec, type FcmFakeOptions } from './fcm.js';
export { startApnsFake, apnsSpec, type ApnsFakeOptions } from './apns.js';
export { selfSignedCertificate, type SelfSigned } from './self-signed.js';
export { twilioSignature } from './callbacks.js';
export { fakeProviderKeys, startFakeProviders, type FakeProviderKeys, type FakeProviders, type FakeProvidersOptions } from './suite.js';
export { smsIntent, pushIntent } from './intents.js';
