import { createLogger } from '../../processor/logger.js';

/** Tests log only warnings and worse, unless NUDGE_TEST_LOG asks for more. */
export const testLogger = createLogger((process.env['NUDGE_TEST_LOG'] as 'debug' | undefined) ?? 'warn');
