/**
 * The per-user state record (UserState) and the changes profiles, keywords and provider
 * feedback make to it. Pure: no clock reads, no I/O; the functions mutate the state they
 * are given, which the caller writes back.
 */
import type { Profile } from '../../processor/messages/profile.js';
import { encodeValue } from '../../state/value-codec.js';
import { emptyFeatures } from './features.js';
import type { Channel, Kind, ProfileState, UserState } from './types.js';

export const KINDS = ['transactional', 'service', 'promotional', 'reminder'] as const satisfies readonly Kind[];
// Compile-time check that KINDS names every Kind: a kind added to the contract must be handled here.
const everyKind: Kind extends (typeof KINDS)[number] ? true : never = true;
void everyKind;

type Consent = Partial<Record<Kind, boolean>>;

export function newUserState(now: number): UserState {
  return { v: 1, features: emptyFeatures(now), sent: [], pending: [] };
}

/**
 * Consent as kept in state. Only two values are ever stored:
 * - `true`: granted (by the profile, or by a START keyword through grantConsent);
 * - `false`: withdrawn HERE, by a STOP keyword or a provider's "unsubscribed" feedback.
 * Absent means "not granted": consent must be explicit, so a profile without a consent
 * object, or without a kind in it, grants nothing. That includes transactional SMS: an OTP
 * needs the flag like anything else (eligibility checks `=== true`); producers that treat
 * transactional messages as always consented must say so in the profile.
 * A profile's `false` is not stored (absent says the same, in fewer bytes).
 */
function consentFrom(given: Consent | undefined, before: Consent | undefined): Consent {
  const out: Consent = {};
  for (const kind of KINDS) {
    // A withdrawal recorded here survives profile updates: the upstream system may not have
    // seen the user's STOP yet and re-publish an older "true". Carriers behave the same way
    // (Twilio keeps refusing a number that texted STOP, error 21610, until it texts START),
    // so only grantConsent (START) lifts it.
    if (before?.[kind] === false) out[kind] = false;
    else if (given?.[kind] === true) out[kind] = true;
  }
  return out;
}

/**
 * Replaces the user's profile with `profile` (a profile record is the user's current full
 * profile, per the contract, not a patch): fields absent from it are gone from state. Kept:
 * country, timezone, language, phone, consent, ncpr, pushTokens, quietHours, value, name
 * (userId is the state's key). Absent and null fields are not written at all (null phone or
 * quietHours means "none", which absence already says, and every stored key costs bytes).
 * Push tokens default to [] and are de-duplicated (the same token twice would be sent twice).
 * The only state that survives is a consent withdrawal recorded here (see consentFrom).
 */
export function applyProfile(state: UserState, profile: Profile): void {
  const before = state.profile?.consent;
  const next: ProfileState = {
    consent: { sms: consentFrom(profile.consent?.sms, before?.sms), push: consentFrom(profile.consent?.push, before?.push) },
    pushTokens: [],
  };
  const seen = new Set<string>();
  for (const t of profile.pushTokens ?? []) {
    if (seen.has(t.token)) continue;
    seen.add(t.token);
    next.pushTokens.push({ platform: t.platform, token: t.token });
  }
  if (profile.country !== undefined) next.country = profile.country;
  if (profile.timezone !== undefined) next.timezone = profile.timezone;
  if (profile.language !== undefined) next.language = profile.language;
  if (typeof profile.phone === 'string') next.phone = profile.phone;
  if (profile.ncpr !== undefined) {
    const ncpr: NonNullable<ProfileState['ncpr']> = {};
    if (profile.ncpr.fullyBlocked !== undefined) ncpr.fullyBlocked = profile.ncpr.fullyBlocked;
    if (profile.ncpr.allowedCategories !== undefined) ncpr.allowedCategories = [...profile.ncpr.allowedCategories];
    next.ncpr = ncpr;
  }
  if (profile.quietHours) next.quietHours = { start: profile.quietHours.start, end: profile.quietHours.end };
  if (profile.value !== undefined) next.value = profile.value;
  if (profile.name !== undefined) next.name = profile.name;
  state.profile = next;
}

/** The profile to change, created empty (no consent, no channel) when none has arrived yet. */
function profileOf(state: UserState): ProfileState {
  // A STOP can arrive before the first profile record; it must still be remembered so that
  // the profile, when it comes, cannot grant what the user already refused.
  state.profile ??= { consent: { sms: {}, push: {} }, pushTokens: [] };
  return state.profile;
}

function kindsOf(kinds: readonly Kind[] | 'all'): readonly Kind[] {
  return kinds === 'all' ? KINDS : kinds;
}

/** Records a withdrawal (keyword, provider feedback): sticky across profile updates until grantConsent. */
export function withdrawConsent(state: UserState, channel: Channel, kinds: readonly Kind[] | 'all'): void {
  const consent = profileOf(state).consent[channel];
  for (const kind of kindsOf(kinds)) consent[kind] = false;
}

/** Grants consent (START keyword): also lifts a withdrawal recorded by withdrawConsent. */
export function grantConsent(state: UserState, channel: Channel, kinds: readonly Kind[] | 'all'): void {
  const consent = profileOf(state).consent[channel];
  for (const kind of kindsOf(kinds)) consent[kind] = true;
}

/**
 * Removes a push token the provider reported dead (FCM UNREGISTERED, APNs 410). Returns
 * whether it was there. A later profile record that still lists it brings it back (profiles
 * replace, per the contract); the next send then fails the same way and removes it again.
 */
export function removePushToken(state: UserState, token: string): boolean {
  const profile = state.profile;
  if (profile === undefined) return false;
  const kept = profile.pushTokens.filter((t) => t.token !== token);
  if (kept.length === profile.pushTokens.length) return false;
  profile.pushTokens = kept;
  return true;
}

/** Bytes of the state as stored (the value codec's MessagePack): what the per-user size budget measures. */
export function encodedSize(state: UserState): number {
  return encodeValue(state).byteLength;
}
