/**
 * The first SIGTERM or SIGINT from the moment this is called. Listening starts before the
 * replica's modules load and its stores open, which takes a second or more: an orchestrator
 * that stops a pod just after starting it then gets a clean shutdown once start-up is done,
 * rather than the default action's exit 143 with nothing logged.
 */
export function stopSignal(): Promise<'SIGTERM' | 'SIGINT'> {
  return new Promise((resolve) => {
    const on = (signal: 'SIGTERM' | 'SIGINT') => () => {
      process.off('SIGTERM', term);
      process.off('SIGINT', int);
      resolve(signal);
    };
    const term = on('SIGTERM');
    const int = on('SIGINT');
    process.once('SIGTERM', term);
    process.once('SIGINT', int);
  });
}
