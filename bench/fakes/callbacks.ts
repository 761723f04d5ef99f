import { createHmac } from 'node:crypto';

/**
 * Twilio's X-Twilio-Signature: base64 HMAC-SHA1, keyed by the auth token, of the callback URL
 * followed by every POST parameter name and value, sorted by name. The webhook verifies it.
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const sorted = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const data = url + sorted.map(([k, v]) => k + v).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * Posts a status callback, ignoring failures: a provider retries or drops its callbacks, and a
 * down webhook must never fail the send the fake already accepted.
 */
export async function deliverCallback(url: string, init: { method: 'GET' | 'POST'; params: URLSearchParams; headers?: Record<string, string> }): Promise<void> {
  try {
    if (init.method === 'GET') {
      const u = new URL(url);
      for (const [k, v] of init.params) u.searchParams.append(k, v);
      await (await fetch(u, { headers: init.headers ?? {} })).arrayBuffer();
    } else {
      await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...init.headers }, body: init.params.toString() })).arrayBuffer();
    }
  } catch {
    // The receiver is down: nothing to do, as with the real providers after their retries.
  }
}
