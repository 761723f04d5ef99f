import { loadConfig, splitList } from '../config/load.js';
import type { NudgeConfig } from '../config/schema.js';

export interface CommonArgs {
  config?: string | undefined;
  brokers?: string | undefined;
  'state-dir'?: string | undefined;
  'state-backend'?: string | undefined;
  'http-port'?: number | undefined;
  guarantee?: string | undefined;
}

/** File, then NUDGE_* environment variables, then flags: the later wins. */
export function configFromArgs(args: CommonArgs, env: NodeJS.ProcessEnv = process.env): NudgeConfig {
  return loadConfig({
    file: args.config ?? env['NUDGE_CONFIG'],
    env,
    flags: {
      'kafka.brokers': args.brokers === undefined ? undefined : splitList(args.brokers),
      'state.dir': args['state-dir'],
      'state.backend': args['state-backend'],
      'http.port': args['http-port'],
      'processor.guarantee': args.guarantee,
    },
  });
}
