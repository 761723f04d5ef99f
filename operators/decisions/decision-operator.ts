import type { NudgeConfig } from '../../config/schema.js';
import type { CountryRules } from '../../config/rules-schema.js';
import { countryRules } from '../../config/country-rules.js';
import type { Campaign, Candidate, Profile, Receipt, UserEvent } from '../../processor/messages/index.js';
import type { Operator, OperatorContext, Timer } from '../../processor/operator.js';
import type { InputRecord } from '../../processor/record.js';
import { TemplateError } from '../delivery/template.js';
import { DELIVERY_SIGNAL, SEND_EFFECT, type DeliverySignal, sendIdFor, type SendIntent, type SendOutcome, type SendRecord } from '../sinks/dispatcher.js';
import type { Effect, EffectOutcome } from '../../processor/effects.js';
import { pruneSent } from './caps.js';
import { DecisionEngine, FEATURE_VERSION, type DecideInput, type PendingScores, type Plan } from './decide.js';
import { decisionIdFor, round, type DecisionRecord } from './decision-record.js';
import { assignArm, inControlGroup } from './experiments.js';
import { decayTo, recordClick, recordEvent, recordSend } from './features.js';
import { matchKeyword } from './keywords.js';
import { isValidTimeZone, localTime } from './local-time.js';
import { checkCaps } from './caps.js';
import { isAllowed, nextAllowed } from './hours.js';
import { channelReasons } from './eligibility.js';
import type { Scorer, Scores } from './scorer.js';
import { PrefetchingScorer, withVariants } from './batch-scoring.js';
import { populationPrior } from './send-time.js';
import { DECISION_STORES, type CampaignUsage, type LedgerEntry, type WaitingCandidate } from './stores.js';
import type { Channel, PendingSend, Reason, UserState } from './types.js';
import { applyProfile, grantConsent, newUserState, removePushToken, withdrawConsent } from './user-state.js';

interface SendTimer {
  kind: 'send';
  userId: string;
  campaignId: string;
  decisionId: string;
  vars: Record<string, string | number>;
}
interface WaitTimer {
  kind: 'wait';
  userId: string;
  campaignId: string;
}
type TimerPayload = SendTimer | WaitTimer;

/**
 * A candidate's decision planned by prepare() (batch-scoring.ts): the state it read, as of the
 * instant it was planned, its plan up to the model, and its rows' scores from the batch's call
 * with the version of the model that gave them (none when the plan needs no scores).
 */
interface Prepared {
  userId: string;
  campaign: Campaign;
  now: number;
  user: UserState;
  first: Plan | PendingScores;
  scores?: Scores[];
  version?: string;
}

const ACTIVITY = new Set(['app_open', 'view', 'click', 'add_to_cart', 'purchase', 'push_open', 'sms_click']);
/** Twilio 21610: the recipient replied STOP to the carrier; a send now would be unlawful. */
const UNSUBSCRIBED_CODES = new Set(['21610']);
/** How often a waiting candidate looks for its campaign again. */
const WAIT_RETRY_MS = 5_000;
/** Pacing slack: a slot may take this much more than its even share of the budget. */
const PACING_SLACK = 1.5;
/** The population hour-of-week histogram is written every this many activity events. */
const POPULATION_WRITE_EVERY = 500;
/** Campaigns whose slot usage a partition keeps in memory between scans (#usedSlots). */
const SLOT_USAGE_CAMPAIGNS = 256;

export interface DecisionOperatorOptions {
  config: Pick<NudgeConfig, 'policy' | 'countries'>;
  scorer: Scorer;
}

/**
 * The decision pipeline as one operator over the four user-keyed inputs: profiles and
 * events update the user's state, receipts feed back, candidates are decided, and
 * scheduled sends fire from durable timers (eligibility is checked again when they do).
 */
export class DecisionOperator implements Operator {
  readonly name = 'decisions';
  readonly inputs = ['profiles', 'events', 'receipts', 'candidates'] as const;
  readonly #engine: DecisionEngine;
  /** With a scorer that prefers batches: the call that scores a batch's rows ahead of its decisions. */
  readonly #prefetcher: PrefetchingScorer | undefined;
  /** The batch's candidates planned by prepare(), by offset, until each is decided. */
  #prepared = new Map<number, Prepared>();
  /**
   * Users decided so far in this batch: a plan made before their state changed no longer serves.
   * A guard, not a path any input reaches today: prepare() plans ahead only a user with one
   * candidate in the whole batch (a campaign not yet known counts too), so nothing earlier in
   * the batch decides for that user. It keeps a stale plan from serving should another path
   * ever decide inside a batch (no test can make one; removing the check fails none).
   */
  readonly #decidedInBatch = new Set<string>();
  readonly #rules: (country: string | undefined) => CountryRules;
  readonly #policy: NudgeConfig['policy'];
  #population: number[] = new Array<number>(168).fill(0);
  #populationShares: number[] = populationPrior([]);
  /** #usedSlots' maps by campaign, with the slot-usage store's stamp they are valid for. */
  readonly #slotUsage = new Map<string, { stamp: number; used: Map<number, number> }>();
  #populationDirty = 0;

  constructor(opts: DecisionOperatorOptions) {
    this.#policy = opts.config.policy;
    this.#prefetcher = opts.scorer.prefersBatches === true ? new PrefetchingScorer(opts.scorer) : undefined;
    this.#engine = new DecisionEngine(opts.config.policy, this.#prefetcher ?? opts.scorer);
    this.#rules = countryRules(opts.config);
  }

  async init(ctx: OperatorContext): Promise<void> {
    const stored = await ctx.store<number[]>(DECISION_STORES.population.name).get(['how']);
    if (stored !== undefined && stored.length === 168) this.#population = stored;
    this.#populationShares = populationPrior(this.#population);
  }

  async process(record: InputRecord, ctx: OperatorContext): Promise<void> {
    switch (record.role) {
      case 'profiles':
        return record.value === null ? this.#erase(record.key, ctx) : this.#profile(record.key, record.value as Profile, ctx);
      case 'events':
        return this.#event(record.key, record.value as UserEvent, ctx);
      case 'receipts':
        return this.#receipt(record.key, record.value as Receipt, ctx);
      case 'candidates':
        return this.#candidate(record.value as Candidate, record.offset, ctx);
    }
  }

  async onTimer(timer: Timer, ctx: OperatorContext): Promise<void> {
    const payload = timer.payload as TimerPayload;
    if (payload.kind === 'send') return this.#fire(payload, ctx);
    return this.#retryWaiting(payload, ctx);
  }

  // ---- state updates ----

  async #profile(userId: string, profile: Profile, ctx: OperatorContext): Promise<void> {
    const users = ctx.store<UserState>(DECISION_STORES.users.name);
    const user = (await users.get([userId])) ?? newUserState(ctx.clock.now());
    applyProfile(user, profile);
    users.put([userId], user);
  }

  /** A profile tombstone erases the user everywhere: state, ledger, waiting candidates, scheduled sends. */
  async #erase(userId: string, ctx: OperatorContext): Promise<void> {
    const users = ctx.store<UserState>(DECISION_STORES.users.name);
    const user = await users.get([userId]);
    for (const p of user?.pending ?? []) {
      await ctx.cancel(`send/${p.decisionId}`);
      await this.#release(p.campaignId, p.t, ctx);
      this.#emitChange(ctx, { decisionId: p.decisionId, campaignId: p.campaignId, userId, reasons: ['erased'] });
    }
    const ledger = ctx.store<LedgerEntry>(DECISION_STORES.ledger.name);
    await ledger.deletePrefix([userId]);
    const waiting = ctx.store<WaitingCandidate>(DECISION_STORES.waiting.name);
    for await (const [key] of waiting.scan({ prefix: [userId] })) await ctx.cancel(`wait/${String(key[1])}/${userId}`);
    await waiting.deletePrefix([userId]);
    users.delete([userId]);
  }

  async #event(userId: string, event: UserEvent, ctx: OperatorContext): Promise<void> {
    const users = ctx.store<UserState>(DECISION_STORES.users.name);
    const now = ctx.clock.now();
    const user = (await users.get([userId])) ?? newUserState(now);
    const tz = this.#timeZone(user);
    recordEvent(user.features, event.type, event.ts, tz, now, event.category);
    if (ACTIVITY.has(event.type)) this.#countPopulation(event.ts, tz, ctx);
    const channel = event.channel ?? undefined;
    if ((event.type === 'push_open' || event.type === 'sms_click' || event.type === 'click') && channel !== undefined && event.campaignId) {
      recordClick(user.features, channel, event.ts, now);
    }
    // A STOP counts even before the user's profile arrives: withdrawConsent keeps it for when it does.
    if (event.type === 'sms_inbound' && typeof event.text === 'string') {
      const keyword = matchKeyword(event.text, this.#rules(user.profile?.country));
      // STOP ends every SMS but the ones the user asked for (OTPs); START restores them.
      if (keyword === 'stop') withdrawConsent(user, 'sms', ['promotional', 'reminder', 'service']);
      if (keyword === 'start') grantConsent(user, 'sms', ['promotional', 'reminder', 'service']);
    }
    if (event.type === 'uninstall' && user.profile !== undefined) user.profile.pushTokens = [];
    users.put([userId], user);
  }

  async #receipt(userId: string, receipt: Receipt, ctx: OperatorContext): Promise<void> {
    // Delivered and failed rates per provider feed routing. A failure the recipient caused
    // (unsubscribed) says nothing about the provider, so it is not counted against it.
    const recipientFault = receipt.code !== null && receipt.code !== undefined && UNSUBSCRIBED_CODES.has(String(receipt.code));
    if (receipt.status === 'delivered' || ((receipt.status === 'failed' || receipt.status === 'undelivered') && !recipientFault)) {
      ctx.signal(DELIVERY_SIGNAL, { provider: receipt.provider, delivered: receipt.status === 'delivered' } satisfies DeliverySignal);
    }
    const users = ctx.store<UserState>(DECISION_STORES.users.name);
    const user = await users.get([userId]);
    if (user === undefined) return;
    const now = ctx.clock.now();
    if (receipt.status === 'clicked') recordClick(user.features, receipt.provider.includes('push') || receipt.provider.includes('fcm') || receipt.provider.includes('apns') ? 'push' : 'sms', receipt.ts, now);
    if (receipt.status === 'unregistered' && user.profile !== undefined) {
      // A receipt that does not say which token is gone (a provider's webhook rarely echoes it)
      // drops them all: sending on to a dead token costs, and providers throttle senders that
      // do. The app registers its token again with its next profile update.
      if (receipt.token !== undefined) removePushToken(user, receipt.token);
      else user.profile.pushTokens = [];
    }
    if ((receipt.status === 'failed' || receipt.status === 'undelivered') && receipt.code !== null && receipt.code !== undefined && UNSUBSCRIBED_CODES.has(String(receipt.code))) {
      withdrawConsent(user, 'sms', 'all');
    }
    users.put([userId], user);
  }

  #countPopulation(ts: number, tz: string, ctx: OperatorContext): void {
    const bucket = localTime(ts, tz).hourOfWeek;
    this.#population[bucket] = (this.#population[bucket] ?? 0) + 1;
    if (++this.#populationDirty >= POPULATION_WRITE_EVERY) {
      this.#populationDirty = 0;
      this.#populationShares = populationPrior(this.#population);
      ctx.store<number[]>(DECISION_STORES.population.name).put(['how'], this.#population);
    }
  }

  // ---- candidates ----

  async #candidate(candidate: Candidate, offset: number, ctx: OperatorContext): Promise<void> {
    const { userId, campaignId } = candidate;
    const vars = candidate.vars ?? {};
    const ledger = ctx.store<LedgerEntry>(DECISION_STORES.ledger.name);
    const previous = await ledger.get([userId, campaignId]);
    if (previous !== undefined) {
      this.#emit(ctx, { decisionId: `${decisionIdFor(campaignId, userId)}-dup-${offset}`, campaignId, userId, action: 'skip', reasons: ['duplicate'] });
      return;
    }
    const campaign = ctx.campaigns.get(campaignId);
    if (campaign === undefined) {
      const waiting = ctx.store<WaitingCandidate>(DECISION_STORES.waiting.name);
      if ((await waiting.get([userId, campaignId])) !== undefined) {
        this.#emit(ctx, { decisionId: `${decisionIdFor(campaignId, userId)}-dup-${offset}`, campaignId, userId, action: 'skip', reasons: ['duplicate'] });
        return;
      }
      waiting.put([userId, campaignId], { vars, since: ctx.clock.now(), offset });
      await ctx.schedule<WaitTimer>(`wait/${campaignId}/${userId}`, ctx.clock.now() + Math.min(WAIT_RETRY_MS, this.#policy.unknownCampaignWaitMs), { kind: 'wait', userId, campaignId });
      return;
    }
    const prepared = this.#prepared.get(offset);
    this.#prepared.delete(offset);
    await this.#decide(userId, campaign, vars, ctx, prepared?.userId === userId && prepared.campaign === campaign ? prepared : undefined);
  }

  async #retryWaiting(t: WaitTimer, ctx: OperatorContext): Promise<void> {
    const waiting = ctx.store<WaitingCandidate>(DECISION_STORES.waiting.name);
    const entry = await waiting.get([t.userId, t.campaignId]);
    if (entry === undefined) return;
    const campaign = ctx.campaigns.get(t.campaignId);
    const now = ctx.clock.now();
    if (campaign !== undefined) {
      waiting.delete([t.userId, t.campaignId]);
      return this.#decide(t.userId, campaign, entry.vars, ctx);
    }
    if (now - entry.since >= this.#policy.unknownCampaignWaitMs) {
      waiting.delete([t.userId, t.campaignId]);
      this.#emit(ctx, { decisionId: decisionIdFor(t.campaignId, t.userId), campaignId: t.campaignId, userId: t.userId, action: 'skip', reasons: ['unknown_campaign'] });
      ctx.store<LedgerEntry>(DECISION_STORES.ledger.name).put([t.userId, t.campaignId], { decisionId: decisionIdFor(t.campaignId, t.userId), action: 'skip', ev: 0, ts: now, reasons: ['unknown_campaign'] });
      return;
    }
    await ctx.schedule<WaitTimer>(`wait/${t.campaignId}/${t.userId}`, Math.min(now + WAIT_RETRY_MS, entry.since + this.#policy.unknownCampaignWaitMs), t);
  }

  /**
   * Decides a candidate. `prepared`: its decision planned by prepare() for this batch, which is
   * finished here, as of the instant it was planned, if the model that scored it still serves.
   */
  async #decide(userId: string, campaign: Campaign, vars: Record<string, string | number>, ctx: OperatorContext, prepared?: Prepared): Promise<void> {
    const current = ctx.clock.now();
    // A plan serves only if nothing has written the user since it was made (an earlier
    // decision of the batch, for a campaign that arrived meanwhile), the window is still open,
    // and its scores are all there, from the model that still serves.
    let ready =
      prepared !== undefined &&
      !this.#decidedInBatch.has(userId) &&
      current < campaign.window.end &&
      ('finish' in prepared.first ? prepared.scores?.length === prepared.first.rows.length && prepared.version === this.#engine.scorer.version : true)
        ? prepared
        : undefined;
    // Kept only while planned decisions remain: one made by a timer between batches (prepare()
    // clears the set only when records come) would otherwise grow it for nothing.
    if (this.#prepared.size > 0) this.#decidedInBatch.add(userId);
    else this.#decidedInBatch.clear();
    let now = ready?.now ?? current;
    const users = ctx.store<UserState>(DECISION_STORES.users.name);
    let user = ready?.user ?? (await this.#userAt(userId, now, ctx));
    const decisionId = decisionIdFor(campaign.campaignId, userId);
    const { arm, propensity } = assignArm(userId, campaign.experiment);
    const usage = ctx.store<CampaignUsage>(DECISION_STORES.campaignUsage.name);
    const used = (await usage.get([campaign.campaignId])) ?? { sends: 0, cost: 0 };
    const share = budgetShare(campaign, ctx.partitionCount);
    const capacity = await this.#capacity(campaign, ctx);
    let plan: Plan;
    if (used.sends + 1 > share.sends || used.cost >= share.cost) {
      plan = { action: 'skip', reasons: ['budget_exhausted'], segments: 0, cost: 0, preempt: [] };
    } else {
      plan = await this.#finish(ready, user, userId, campaign, vars, now, capacity, ctx);
      // Planned at the batch's start, a message sent now leaves later: the hours must allow it
      // then too (a clock that moves; a virtual one does not), else it is decided afresh.
      if (ready !== undefined && plan.action === 'send' && current !== now && !isAllowed(current, plan.channel as Channel, campaign.kind, this.#timeZone(user), this.#rules(user.profile?.country), user.profile?.quietHours)) {
        ready = undefined;
        now = current;
        user = await this.#userAt(userId, now, ctx);
        plan = await this.#finish(undefined, user, userId, campaign, vars, now, capacity, ctx);
      }
      if (plan.action !== 'skip' && used.cost + plan.cost > share.cost) plan = { ...plan, action: 'skip', reasons: ['budget_exhausted'] };
    }
    const ledger = ctx.store<LedgerEntry>(DECISION_STORES.ledger.name);
    // A control group member gets what the pipeline would have done, withheld: the counterfactual stays comparable.
    if (plan.action !== 'skip' && this.#withheld(userId, campaign, arm)) {
      this.#emit(ctx, this.#record(decisionId, campaign, userId, 'holdout', plan, arm, propensity, now));
      ledger.put([userId, campaign.campaignId], { decisionId, action: 'holdout', ev: plan.scores?.ev ?? 0, ts: now });
      users.put([userId], user);
      return;
    }
    if (plan.action === 'skip') {
      this.#emit(ctx, this.#record(decisionId, campaign, userId, 'skip', plan, arm, propensity, now));
      ledger.put([userId, campaign.campaignId], { decisionId, action: 'skip', ev: plan.scores?.ev ?? 0, ts: now, reasons: plan.reasons });
      users.put([userId], user);
      return;
    }
    for (const p of plan.preempt) await this.#preempt(user, userId, p, ctx);
    const channel = plan.channel as Channel;
    const sendAt = plan.sendAt as number;
    usage.put([campaign.campaignId], { sends: used.sends + 1, cost: round(used.cost + plan.cost) });
    await this.#useSlot(campaign, plan.slot ?? sendAt, ctx, +1);
    this.#emit(ctx, this.#record(decisionId, campaign, userId, plan.action, plan, arm, propensity, now));
    if (plan.action === 'send') {
      ledger.put([userId, campaign.campaignId], { decisionId, action: 'send', channel, sendAt, ev: plan.scores?.ev ?? 0, ts: now });
      await this.#send(user, userId, campaign, channel, decisionId, vars, ctx);
    } else {
      ledger.put([userId, campaign.campaignId], { decisionId, action: 'schedule', channel, sendAt, ev: plan.scores?.ev ?? 0, ts: now });
      const pending: PendingSend = { t: sendAt, ch: channel, k: campaign.kind, ...(campaign.category !== undefined ? { cat: campaign.category } : {}), decisionId, campaignId: campaign.campaignId, ev: plan.scores?.ev ?? 0, priority: campaign.priority ?? 0 };
      user.pending.push(pending);
      await ctx.schedule<SendTimer>(`send/${decisionId}`, sendAt, { kind: 'send', userId, campaignId: campaign.campaignId, decisionId, vars });
    }
    users.put([userId], user);
  }

  /** The plan: from the batch's plan and scores when `ready`, else planned and scored now. */
  async #finish(ready: Prepared | undefined, user: UserState, userId: string, campaign: Campaign, vars: Record<string, string | number>, now: number, capacity: (slot: number) => number, ctx: OperatorContext): Promise<Plan> {
    if (ready === undefined) return this.#engine.decide(this.#input(user, userId, campaign, vars, now, false, ctx), capacity);
    const first = ready.first;
    return 'finish' in first ? first.finish(ready.scores ?? [], capacity) : first;
  }

  /** Displaces a scheduled message: its timer goes, its capacity returns, its decision is republished as skip. */
  async #preempt(user: UserState, userId: string, p: PendingSend, ctx: OperatorContext): Promise<void> {
    user.pending = user.pending.filter((x) => x.decisionId !== p.decisionId);
    await ctx.cancel(`send/${p.decisionId}`);
    await this.#release(p.campaignId, p.t, ctx);
    const ledger = ctx.store<LedgerEntry>(DECISION_STORES.ledger.name);
    const entry = await ledger.get([userId, p.campaignId]);
    if (entry !== undefined) ledger.put([userId, p.campaignId], { ...entry, action: 'skip', reasons: ['preempted'] });
    this.#emitChange(ctx, { decisionId: p.decisionId, campaignId: p.campaignId, userId, reasons: ['preempted'] });
  }

  // ---- read-only queries ----

  /**
   * What the pipeline would decide for this user and campaign now, without writing
   * anything or sending: the eligibility API. The same rules, caps, budget and scoring as
   * a candidate gets.
   */
  async evaluate(userId: string, campaign: Campaign, ctx: OperatorContext): Promise<{ action: Plan['action'] | 'holdout'; plan: Plan }> {
    const plan = await this.#dryRun(userId, campaign, ctx);
    if (plan.action !== 'skip' && this.#withheld(userId, campaign)) return { action: 'holdout', plan };
    return { action: plan.action, plan };
  }

  /**
   * Plans a batch's candidate decisions up to the model and scores all their rows in one call
   * (batch-scoring.ts). Only for a scorer that prefers batches. A candidate whose user has no
   * other candidate in the batch keeps its plan, its state and its scores for #decide; a user's
   * several candidates are planned again in turn, and their rows served from the call.
   */
  async prepare(records: readonly InputRecord[], ctx: OperatorContext): Promise<void> {
    this.#prepared.clear();
    this.#decidedInBatch.clear();
    const prefetcher = this.#prefetcher;
    if (prefetcher === undefined) return;
    const known: Array<{ candidate: Candidate; campaign: Campaign; offset: number }> = [];
    // Every candidate of the batch counts, also one whose campaign is not known yet: it may be by its turn.
    const total = new Map<string, number>();
    for (const record of records) {
      if (record.role !== 'candidates') continue;
      const candidate = record.value as Candidate;
      total.set(candidate.userId, (total.get(candidate.userId) ?? 0) + 1);
      const campaign = ctx.campaigns.get(candidate.campaignId);
      if (campaign !== undefined) known.push({ candidate, campaign, offset: record.offset });
    }
    if (known.length === 0) {
      prefetcher.clear();
      return;
    }
    const seen = new Map<string, number>();
    const planned = new Map<number, Prepared & { from: number }>();
    const direct: Float32Array[] = [];
    const keyed: Float32Array[] = [];
    for (const { candidate, campaign, offset } of known) {
      // Planning a batch of a thousand candidates takes long enough to hold up the thread's I/O.
      const pause = ctx.turn?.();
      if (pause !== undefined) await pause;
      const { userId, vars } = candidate;
      const earlier = seen.get(userId) ?? 0;
      seen.set(userId, earlier + 1);
      const alone = total.get(userId) === 1;
      try {
        const p = await this.#plan(userId, campaign, vars ?? {}, false, ctx);
        // A duplicate or an exhausted budget: decided without the model, and read again then.
        if (p.first === undefined) continue;
        const first = p.first;
        const rows = 'finish' in first ? first.rows : [];
        if (alone) {
          planned.set(offset, { userId, campaign, now: p.now, user: p.user, first, from: direct.length });
          for (const row of rows) direct.push(row);
        } else {
          for (const row of withVariants(rows, earlier, earlier + 1 < (total.get(userId) ?? 0))) keyed.push(row);
        }
      } catch {
        // This candidate is planned again when it is decided (or dead-lettered then, with the
        // reason); the rest of the batch keeps its head start.
      }
    }
    // Replaces the previous batch's answers, also when no candidate asked for any.
    const { scores, version } = await prefetcher.prefetch(keyed, direct);
    for (const [offset, p] of planned) {
      const { from, ...rest } = p;
      const first = p.first;
      this.#prepared.set(offset, 'finish' in first ? { ...rest, scores: scores.slice(from, from + first.rows.length), version } : rest);
    }
  }

  /**
   * Whether a decision for this user would be withheld (control group, or a holdout or control
   * arm) rather than carried out. `arm` when the caller has it: assignment is a hash.
   */
  #withheld(userId: string, campaign: Campaign, arm = assignArm(userId, campaign.experiment).arm): boolean {
    const promotional = campaign.kind === 'promotional' || campaign.kind === 'reminder';
    const control = promotional && inControlGroup(userId, this.#policy.controlGroupPercent, this.#policy.controlGroupSalt);
    return control || arm === 'holdout' || arm === 'control';
  }

  /** The plan a decision would make now, without writing anything. */
  async #dryRun(userId: string, campaign: Campaign, ctx: OperatorContext): Promise<Plan> {
    const p = await this.#plan(userId, campaign, {}, true, ctx);
    if (p.first === undefined) return p.plan;
    return this.#engine.complete(p.first, await this.#capacity(campaign, ctx));
  }

  /**
   * A candidate's decision now up to the model, with the user's state it reads; or, for a
   * duplicate or a campaign whose budget is spent, the skip, with no plan.
   */
  async #plan(userId: string, campaign: Campaign, vars: Record<string, string | number>, placeholderVars: boolean, ctx: OperatorContext): Promise<{ now: number; user: UserState; first: Plan | PendingScores; plan?: undefined } | { now: number; user: UserState; first?: undefined; plan: Plan }> {
    const now = ctx.clock.now();
    const user = await this.#userAt(userId, now, ctx);
    const none: Plan = { action: 'skip', reasons: [], segments: 0, cost: 0, preempt: [] };
    if ((await ctx.store<LedgerEntry>(DECISION_STORES.ledger.name).get([userId, campaign.campaignId])) !== undefined) {
      return { now, user, plan: { ...none, reasons: ['duplicate'] } };
    }
    const used = (await ctx.store<CampaignUsage>(DECISION_STORES.campaignUsage.name).get([campaign.campaignId])) ?? { sends: 0, cost: 0 };
    const share = budgetShare(campaign, ctx.partitionCount);
    if (used.sends + 1 > share.sends || used.cost >= share.cost) return { now, user, plan: { ...none, reasons: ['budget_exhausted'] } };
    return { now, user, first: this.#engine.plan(this.#input(user, userId, campaign, vars, now, placeholderVars, ctx)) };
  }

  /** The user's state as a decision at `now` reads it: features decayed to now, sends older than the history dropped. */
  async #userAt(userId: string, now: number, ctx: OperatorContext): Promise<UserState> {
    const user = (await ctx.store<UserState>(DECISION_STORES.users.name).get([userId])) ?? newUserState(now);
    decayTo(user.features, now);
    user.sent = pruneSent(user.sent, now, this.#policy.historyMs);
    return user;
  }

  #input(user: UserState, userId: string, campaign: Campaign, vars: Record<string, string | number>, now: number, placeholderVars: boolean, ctx: OperatorContext): DecideInput {
    const { arm } = assignArm(userId, campaign.experiment);
    return {
      now,
      user,
      campaign,
      vars,
      rules: this.#rules(user.profile?.country),
      timeZone: this.#timeZone(user),
      population: this.#populationShares,
      skipModel: campaign.kind === 'transactional' || campaign.deadline === 'hard' || arm === 'blast',
      placeholderVars,
      campaignOf: (id) => ctx.campaigns.get(id),
    };
  }

  /** The user's state as the API shows it: no phone number, no token. */
  async view(userId: string, ctx: OperatorContext): Promise<UserState | undefined> {
    return ctx.store<UserState>(DECISION_STORES.users.name).get([userId]);
  }

  // ---- scheduled sends ----

  async #fire(t: SendTimer, ctx: OperatorContext): Promise<void> {
    const users = ctx.store<UserState>(DECISION_STORES.users.name);
    const ledger = ctx.store<LedgerEntry>(DECISION_STORES.ledger.name);
    const entry = await ledger.get([t.userId, t.campaignId]);
    const user = await users.get([t.userId]);
    if (entry === undefined || entry.decisionId !== t.decisionId || entry.action !== 'schedule' || user === undefined) return;
    const now = ctx.clock.now();
    const mine = user.pending.find((p) => p.decisionId === t.decisionId);
    user.pending = user.pending.filter((p) => p.decisionId !== t.decisionId);
    const campaign = ctx.campaigns.get(t.campaignId);
    const cancel = async (reasons: Reason[]) => {
      ledger.put([t.userId, t.campaignId], { ...entry, action: 'skip', reasons });
      if (mine !== undefined) await this.#release(t.campaignId, mine.t, ctx);
      this.#emitChange(ctx, { decisionId: t.decisionId, campaignId: t.campaignId, userId: t.userId, reasons });
      users.put([t.userId], user);
    };
    if (campaign === undefined) return cancel(['unknown_campaign']);
    if (now >= campaign.window.end) return cancel(['window_closed']);
    const channel = entry.channel as Channel;
    const profile = user.profile;
    if (profile === undefined) return cancel(['erased']);
    // Consent, tokens or the phone may have changed since the decision.
    const rules = this.#rules(profile.country);
    const staticReasons = channelReasons(channel, campaign, profile, rules);
    if (staticReasons.length > 0) return cancel(staticReasons);
    const tz = this.#timeZone(user);
    if (!isAllowed(now, channel, campaign.kind, tz, rules, profile.quietHours)) {
      // Quiet hours may have been set since: hold until they end if the window still allows.
      const at = nextAllowed(now, channel, campaign.kind, tz, rules, profile.quietHours, campaign.window.end - now);
      if (at === undefined || at >= campaign.window.end || mine === undefined) return cancel(['quiet_hours']);
      user.pending.push({ ...mine, t: at });
      ledger.put([t.userId, t.campaignId], { ...entry, sendAt: at });
      await ctx.schedule<SendTimer>(`send/${t.decisionId}`, at, t);
      users.put([t.userId], user);
      return;
    }
    const caps = checkCaps({ at: now, channel, kind: campaign.kind, ...(campaign.category !== undefined ? { category: campaign.category } : {}), timeZone: tz, sent: user.sent, pending: user.pending, caps: this.#policy.caps, minGapMs: this.#policy.minGapMs });
    if (caps.reasons.length > 0) return cancel(caps.reasons);
    ledger.put([t.userId, t.campaignId], { ...entry, action: 'sent' });
    await this.#send(user, t.userId, campaign, channel, t.decisionId, t.vars, ctx);
    users.put([t.userId], user);
  }

  async #send(user: UserState, userId: string, campaign: Campaign, channel: Channel, decisionId: string, vars: Record<string, string | number>, ctx: OperatorContext): Promise<void> {
    const now = ctx.clock.now();
    let intent;
    try {
      intent = this.#engine.buildIntent({ sendId: sendIdFor(decisionId, userId, 1), decisionId, userId, campaign, channel, user, vars });
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      this.#emitChange(ctx, { decisionId, campaignId: campaign.campaignId, userId, reasons: ['invalid_template'] });
      return;
    }
    user.sent.push({ t: now, ch: channel, k: campaign.kind, ...(campaign.category !== undefined ? { cat: campaign.category } : {}) });
    recordSend(user.features, channel, now, now);
    // The intent is committed with this batch before any provider is called (send ledger).
    ctx.effect<SendIntent>(intent.sendId, SEND_EFFECT, intent);
  }

  // ---- send outcomes ----

  async onOutcome(effect: Effect, outcome: EffectOutcome, ctx: OperatorContext): Promise<void> {
    if (effect.kind !== SEND_EFFECT) return;
    const intent = effect.payload as SendIntent;
    const result = outcome as SendOutcome;
    const attempts = Array.isArray(result.attempts) && result.attempts.length > 0 ? result.attempts : [{ provider: 'unknown', status: result.final, ts: ctx.clock.now() }];
    for (const [i, a] of attempts.entries()) {
      this.#sendRecord(ctx, intent, {
        provider: a.provider,
        status: a.status,
        attempt: i + 1,
        providerMessageId: a.providerMessageId ?? null,
        // Outcomes committed before the field existed have none; a number only where a route priced it.
        ...(a.status === 'sent' && typeof a.providerCost === 'number' && Number.isFinite(a.providerCost) ? { providerCost: a.providerCost } : {}),
        error: a.error ?? null,
        ts: a.ts,
      });
    }
    const users = ctx.store<UserState>(DECISION_STORES.users.name);
    const user = await users.get([intent.userId]);
    if (user === undefined) return;
    let changed = false;
    // Provider feedback about the recipient: never message them the same way again.
    if (result.action === 'withdraw_consent') changed = (withdrawConsent(user, 'sms', 'all'), true);
    if (result.action === 'remove_token' && result.token !== undefined) changed = removePushToken(user, result.token) || changed;
    if (result.action === 'invalid_number' && user.profile !== undefined) {
      user.profile.phone = null;
      changed = true;
    }
    if (changed) users.put([intent.userId], user);
  }

  /**
   * A send found unresolved after a crash or a move: the provider may or may not have
   * accepted it. Promotional messages are not sent again (at most once); transactional
   * and service ones are (at least once; push uses a collapse key so a repeat replaces).
   */
  onRecover(effect: Effect, ctx: OperatorContext): 'redispatch' | 'drop' {
    if (effect.kind !== SEND_EFFECT) return 'drop';
    const intent = effect.payload as SendIntent;
    const now = ctx.clock.now();
    if ((intent.kind === 'transactional' || intent.kind === 'service') && now < intent.expiresAt && effect.dispatches < 3) return 'redispatch';
    this.#sendRecord(ctx, intent, {
      provider: 'none',
      status: 'dropped',
      attempt: effect.dispatches,
      providerMessageId: null,
      error: { code: 'NUDGE_ERR_UNRESOLVED_SEND', message: 'outcome unknown after a restart; not resent (at most once)' },
      ts: now,
    });
    return 'drop';
  }

  #sendRecord(ctx: OperatorContext, intent: SendIntent, a: Pick<SendRecord, 'provider' | 'status' | 'attempt' | 'providerMessageId' | 'providerCost' | 'error' | 'ts'>): void {
    const record: SendRecord = {
      sendId: intent.sendId,
      decisionId: intent.decisionId,
      userId: intent.userId,
      campaignId: intent.campaignId,
      channel: intent.channel,
      segments: intent.segments,
      cost: a.status === 'sent' ? intent.cost : 0,
      ...a,
    };
    ctx.forward({ role: 'sends', key: intent.userId, value: record });
  }

  // ---- capacity and budgets ----

  /** Sends a slot can still take in this partition: the campaign's rate and its paced budget, split across partitions. */
  async #capacity(campaign: Campaign, ctx: OperatorContext): Promise<(slot: number) => number> {
    const slotMs = this.#policy.slotMinutes * 60_000;
    const windowMs = Math.max(slotMs, campaign.window.end - campaign.window.start);
    const share = budgetShare(campaign, ctx.partitionCount);
    const byRate = campaign.maxPerSecond === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor((campaign.maxPerSecond * slotMs) / 1000 / ctx.partitionCount));
    const byBudget = Number.isFinite(share.sends) ? Math.max(1, Math.ceil((share.sends * slotMs * PACING_SLACK) / windowMs)) : Number.POSITIVE_INFINITY;
    const limit = Math.min(byRate, byBudget);
    if (!Number.isFinite(limit)) return () => Number.POSITIVE_INFINITY;
    const used = await this.#usedSlots(campaign.campaignId, ctx);
    return (slot) => limit - (used.get(slotStart(slot, slotMs)) ?? 0);
  }

  /**
   * A campaign's sends per slot in this partition. Scanned when the store has changed since
   * the last scan (its stamp), else the map kept from then, which #useSlot keeps up to date:
   * every candidate needs it, and most decisions change no slot
   * (skips, holdouts), so a scan per candidate was an eighth of the time spent deciding.
   */
  async #usedSlots(campaignId: string, ctx: OperatorContext): Promise<Map<number, number>> {
    const slots = ctx.store<number>(DECISION_STORES.slotUsage.name);
    const stamp = slots.stamp;
    const kept = this.#slotUsage.get(campaignId);
    if (kept !== undefined && kept.stamp === stamp) return kept.used;
    const used = new Map<number, number>();
    for await (const [key, count] of slots.scan({ prefix: [campaignId] })) used.set(key[1] as number, count);
    // Kept only if nothing wrote while the scan awaited (a query scans beside a batch).
    if (slots.stamp === stamp) {
      // Bounded: campaigns come and go (thousands a day); an evicted one is scanned again.
      if (this.#slotUsage.size >= SLOT_USAGE_CAMPAIGNS) this.#slotUsage.delete(this.#slotUsage.keys().next().value as string);
      this.#slotUsage.set(campaignId, { stamp, used });
    }
    return used;
  }

  async #useSlot(campaign: Campaign, at: number, ctx: OperatorContext, delta: number): Promise<void> {
    const slotMs = this.#policy.slotMinutes * 60_000;
    const slots = ctx.store<number>(DECISION_STORES.slotUsage.name);
    const slot = slotStart(at, slotMs);
    const key = [campaign.campaignId, slot];
    const next = ((await slots.get(key)) ?? 0) + delta;
    const before = slots.stamp;
    if (next <= 0) slots.delete(key);
    else slots.put(key, next);
    // This write changes this campaign's map and no other's: every map that was current
    // before it stays current (a campaign's flash sale must not cost the reminder a rescan).
    const after = slots.stamp;
    for (const [id, kept] of this.#slotUsage) {
      if (kept.stamp !== before) continue;
      if (id === campaign.campaignId) {
        if (next <= 0) kept.used.delete(slot);
        else kept.used.set(slot, next);
      }
      kept.stamp = after;
    }
  }

  /**
   * Gives a cancelled message's slot and send back to the campaign. Its cost is not refunded:
   * the budget's cost side stays conservative (it can only under-spend).
   */
  async #release(campaignId: string, at: number, ctx: OperatorContext): Promise<void> {
    const campaign = ctx.campaigns.get(campaignId);
    if (campaign !== undefined) await this.#useSlot(campaign, at, ctx, -1);
    const usage = ctx.store<CampaignUsage>(DECISION_STORES.campaignUsage.name);
    const used = await usage.get([campaignId]);
    if (used !== undefined) usage.put([campaignId], { sends: Math.max(0, used.sends - 1), cost: used.cost });
  }

  // ---- output ----

  #timeZone(user: UserState): string {
    const tz = user.profile?.timezone;
    if (tz !== undefined && isValidTimeZone(tz)) return tz;
    return this.#rules(user.profile?.country).timezone ?? this.#policy.defaultTimezone;
  }

  #record(decisionId: string, campaign: Campaign, userId: string, action: DecisionRecord['action'], plan: Plan, arm: string, propensity: number, now: number): DecisionRecord {
    return {
      decisionId,
      campaignId: campaign.campaignId,
      userId,
      action,
      kind: campaign.kind,
      channel: plan.channel ?? null,
      provider: null,
      sendAt: plan.sendAt ?? null,
      reasons: plan.reasons,
      scores: plan.scores === undefined ? null : { click: round(plan.scores.click), convert: round(plan.scores.convert), unsubscribe: round(plan.scores.unsubscribe), ev: round(plan.scores.ev, 4) },
      propensity,
      arm,
      modelVersion: this.#engine.scorer.version,
      segments: plan.segments,
      cost: round(plan.cost, 4),
      ts: now,
      ...(plan.features !== undefined ? { featureVersion: FEATURE_VERSION, features: Array.from(plan.features, (v) => round(v, 5)) } : {}),
    };
  }

  #emit(ctx: OperatorContext, partial: Pick<DecisionRecord, 'decisionId' | 'campaignId' | 'userId' | 'action' | 'reasons'>): void {
    const record: DecisionRecord = {
      kind: ctx.campaigns.get(partial.campaignId)?.kind ?? null,
      channel: null,
      provider: null,
      sendAt: null,
      scores: null,
      propensity: 1,
      arm: 'default',
      modelVersion: this.#engine.scorer.version,
      segments: 0,
      cost: 0,
      ts: ctx.clock.now(),
      ...partial,
    };
    ctx.forward({ role: 'decisions', key: partial.userId, value: record });
  }

  /** A later change to an earlier decision: same decisionId, action skip (CONTRACT). */
  #emitChange(ctx: OperatorContext, change: { decisionId: string; campaignId: string; userId: string; reasons: Reason[] }): void {
    ctx.forward({
      role: 'decisions',
      key: change.userId,
      value: { ...this.#blank(ctx, change.campaignId), ...change, action: 'skip', supersedes: 'schedule' } satisfies DecisionRecord,
    });
  }

  #blank(ctx: OperatorContext, campaignId: string): Omit<DecisionRecord, 'decisionId' | 'campaignId' | 'userId' | 'action' | 'reasons'> {
    return { kind: ctx.campaigns.get(campaignId)?.kind ?? null, channel: null, provider: null, sendAt: null, scores: null, propensity: 1, arm: 'default', modelVersion: this.#engine.scorer.version, segments: 0, cost: 0, ts: ctx.clock.now() };
  }
}

function slotStart(at: number, slotMs: number): number {
  return Math.floor(at / slotMs) * slotMs;
}

/**
 * A partition's share of the campaign budget. Users are spread evenly by the hash
 * partitioner, so an even split is within a few percent of what each partition's audience
 * would justify; the approximation is documented in the README.
 */
export function budgetShare(campaign: Campaign, partitions: number): { sends: number; cost: number } {
  const n = Math.max(1, partitions);
  return {
    sends: campaign.budget?.maxSends === undefined ? Number.POSITIVE_INFINITY : Math.ceil(campaign.budget.maxSends / n),
    cost: campaign.budget?.maxCost === undefined ? Number.POSITIVE_INFINITY : campaign.budget.maxCost / n,
  };
}
