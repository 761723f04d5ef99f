import { Type, type Static } from '@sinclair/typebox';
import { Id } from './common.js';

export const CandidateSchema = Type.Object({
  campaignId: Id,
  userId: Id,
  vars: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 1000 }), Type.Number()]))),
});

export type Candidate = Static<typeof CandidateSchema>;
