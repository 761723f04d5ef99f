import type { TopicsConfig } from '../config/schema.js';
import { INPUT_READ_ORDER, INPUT_ROLES, OUTPUT_ROLES, type InputRole, type OutputRole } from './record.js';

/** Resolves roles to topic names (with the configured prefix) and back. */
export class TopicNames {
  readonly #config: TopicsConfig;
  readonly #roleOf = new Map<string, InputRole | 'campaigns'>();

  constructor(config: TopicsConfig) {
    this.#config = config;
    for (const role of INPUT_ROLES) this.#roleOf.set(this.input(role), role);
    this.#roleOf.set(this.campaigns, 'campaigns');
  }

  input(role: InputRole): string {
    return this.#config.prefix + this.#config[role];
  }
  output(role: OutputRole): string {
    return this.#config.prefix + this.#config[role];
  }
  get campaigns(): string {
    return this.#config.prefix + this.#config.campaigns;
  }
  get replicas(): string {
    return this.#config.prefix + this.#config.replicas;
  }
  get changelog(): string {
    return this.#config.prefix + this.#config.changelog;
  }
  /** Every user-keyed input topic: these must be co-partitioned. */
  get inputs(): string[] {
    return INPUT_ROLES.map((r) => this.input(r));
  }
  /** The input topics in INPUT_READ_ORDER: how the embedded engine takes turns between them. */
  get inputsInReadOrder(): string[] {
    return INPUT_READ_ORDER.map((r) => this.input(r));
  }
  get outputs(): string[] {
    return OUTPUT_ROLES.map((r) => this.output(r));
  }
  roleOf(topic: string): InputRole | 'campaigns' | undefined {
    return this.#roleOf.get(topic);
  }
}
