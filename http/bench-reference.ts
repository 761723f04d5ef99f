import uWS from 'uWebSockets.js';
import type { us_listen_socket } from 'uWebSockets.js';

const ANSWER = JSON.stringify({ eligible: true, action: 'send', reasons: [], sendAt: null, channel: 'sms', scores: null, answeredBy: 'reference' });

/**
 * The same-run reference for the eligibility load test: a uWS endpoint that reads the
 * same request and answers a constant, doing no work. Measured at the same rate in the
 * same run, it shows how much of a latency figure is the machine, the load generator and
 * uWS itself, and how much is nudge.
 */
export async function startReferenceEndpoint(host = '127.0.0.1', port = 0): Promise<{ url: string; close(): void }> {
  const app = uWS.App();
  app.post('/v1/eligibility', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    // Read the body to its end, as the real endpoint must, then answer.
    res.onData((_chunk, isLast) => {
      if (isLast && !aborted) res.cork(() => res.writeHeader('Content-Type', 'application/json').end(ANSWER));
    });
  });
  const socket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(host, port, (s) => (s === false ? reject(new Error(`reference endpoint cannot listen on ${host}:${port}`)) : resolve(s)));
  });
  const bound = uWS.us_socket_local_port(socket);
  return { url: `http://${host}:${bound}/v1/eligibility`, close: () => uWS.us_listen_socket_close(socket) };
}
