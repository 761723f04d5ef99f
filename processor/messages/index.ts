export { EventSchema, EVENT_TYPES, type EventType, type UserEvent } from './event.js';
export { ProfileSchema, type Profile } from './profile.js';
export { CampaignSchema, type Campaign, type CampaignInput } from './campaign.js';
export { CandidateSchema, type Candidate } from './candidate.js';
export { ReceiptSchema, RECEIPT_STATUSES, type Receipt, type ReceiptStatus } from './receipt.js';
export { toEpochMs } from './common.js';
