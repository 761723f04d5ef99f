import { errorMessage } from '../errors/index.js';
import { decodeRecord } from './decode.js';
import type { Logger } from './logger.js';
import type { Campaign } from './messages/index.js';
import type { CampaignTable } from './operator.js';
import type { RawRecord } from './record.js';

/** The campaigns topic materialised in memory: small (thousands of rows), read whole by every replica. */
export class InMemoryCampaignTable implements CampaignTable {
  readonly #rows = new Map<string, Campaign>();
  readonly #log: Logger;
  readonly #maxRecordBytes: number;
  #version = 0;
  /** Records that could not be decoded, by code; every replica sees them, so they are counted, not dead-lettered N times. */
  readonly rejected = new Map<string, number>();

  readonly #onReject: (code: string) => void;

  /** `onReject` hears each refused record's code (the replica counts them in nudge_campaigns_rejected_total). */
  constructor(log: Logger, maxRecordBytes: number, onReject: (code: string) => void = () => {}) {
    this.#log = log;
    this.#maxRecordBytes = maxRecordBytes;
    this.#onReject = onReject;
  }

  get size(): number {
    return this.#rows.size;
  }
  get version(): number {
    return this.#version;
  }
  get(campaignId: string): Campaign | undefined {
    return this.#rows.get(campaignId);
  }
  values(): IterableIterator<Campaign> {
    return this.#rows.values();
  }

  apply(records: readonly RawRecord[]): void {
    for (const raw of records) {
      try {
        const { key, value } = decodeRecord('campaigns', raw, { maxRecordBytes: this.#maxRecordBytes });
        if (value === null) this.#rows.delete(key);
        else this.#rows.set(key, value as Campaign);
        this.#version++;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'NUDGE_ERR_INVALID_FIELD';
        this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
        this.#onReject(code);
        this.#log.error({ err: errorMessage(err), code, topic: raw.topic, offset: raw.offset }, 'campaign record rejected');
      }
    }
  }

  /** For tests and the eligibility API: set a campaign directly. */
  put(campaign: Campaign): void {
    this.#rows.set(campaign.campaignId, campaign);
    this.#version++;
  }
}
