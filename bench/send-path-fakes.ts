/**
 * The provider fakes in a process of their own, for bench/send-path.ts (forked with IPC): the
 * measured process then pays for the client side of a send only, and the fakes' memory (they
 * keep the accepted messages) stays out of its RSS. Faults are set over each fake's control
 * API (`PATCH /__fake/faults`); stats read from `GET /__fake/state`.
 *
 * Protocol: the child sends one `FakesReady` message once listening; it closes the fakes and
 * exits when the parent sends 'stop' or disconnects (the parent died: never outlive it).
 */
import type { ProviderConfig } from '../operators/sinks/providers/factory.js';
import { startFakeProviders } from './fakes/index.js';

export interface FakesReady {
  gupshup: { url: string; config: ProviderConfig };
  fcm: { url: string; config: ProviderConfig };
}

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  // Imported by accident (not forked): do nothing rather than open ports nobody will close.
  if (send === undefined) return;
  const fakes = await startFakeProviders();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= fakes.close().finally(() => process.exit(0));
    return closing;
  };
  process.on('message', (m) => {
    if (m === 'stop') void close();
  });
  process.on('disconnect', () => void close());
  const ready: FakesReady = {
    gupshup: { url: fakes.gupshup.url, config: fakes.configs.gupshup },
    fcm: { url: fakes.fcm.url, config: fakes.configs.fcm },
  };
  send(ready);
}

main().catch((err: unknown) => {
  process.stderr.write(`send-path fakes: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
