import type { IncomingHttpHeaders } from 'node:http';

/** The request and response shapes every fake speaks, HTTP/1.1 or HTTP/2 alike. */
export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  httpVersion: string;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A message the fake accepted: what tests count per recipient. */
export interface AcceptedMessage {
  id: string;
  recipient: string;
  at: number;
  fields: Record<string, unknown>;
}
