import type { CountryRules } from '../../config/rules-schema.js';
import type { Campaign } from '../../processor/messages/index.js';
import { pickTemplate } from '../delivery/template.js';
import type { Channel, ProfileState, Reason } from './types.js';

/**
 * The checks that do not depend on time: can this channel reach the user at all for
 * this campaign, and may it? Cheap, so they run first (DESIGN: hard rules first).
 */
export function channelReasons(channel: Channel, campaign: Campaign, profile: ProfileState, rules: CountryRules): Reason[] {
  const reasons: Reason[] = [];
  const kind = campaign.kind;
  if (channel === 'sms' && (profile.phone === undefined || profile.phone === null)) reasons.push('no_channel');
  if (channel === 'push' && profile.pushTokens.length === 0) reasons.push('no_channel');
  // Consent must be explicit, per channel and kind; transactional messages need it too (they bypass caps, never consent).
  if (profile.consent[channel][kind] !== true) reasons.push('no_consent');
  if (channel === 'sms' && rules.ncpr && (kind === 'promotional' || kind === 'reminder')) {
    // TRAI NCPR: a promotional SMS only in a category the user has opened; 0/fully blocked means none.
    const ncpr = profile.ncpr;
    const category = campaign.category;
    if (ncpr?.fullyBlocked === true) reasons.push('ncpr_blocked');
    else if (ncpr?.allowedCategories !== undefined && (category === undefined || !ncpr.allowedCategories.includes(category))) reasons.push('ncpr_blocked');
  }
  const picked = pickTemplate(campaign, channel, profile.language);
  if (picked === undefined) {
    reasons.push('invalid_template');
  } else if (channel === 'sms' && rules.requireDlt) {
    // DLT: every commercial SMS in India carries a registered entity, template and header, or operators drop it.
    const t = picked.template as { dltEntityId?: string; dltTemplateId?: string; senderId?: string };
    if (t.dltEntityId === undefined || t.dltTemplateId === undefined || t.senderId === undefined) reasons.push('dlt_missing');
  }
  return reasons;
}
