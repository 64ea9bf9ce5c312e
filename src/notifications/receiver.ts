/**
 * A small webhook receiver on 127.0.0.1, as a client of ours would write one: it checks the
 * signature over the raw body before reading the event, answers 401 to a bad or stale one,
 * and hands each verified event to `onEvent`. The demo prints events with it; the tests
 * send to it.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { NotificationEvent } from './events.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, verifySignature } from './webhook.js';

/** Larger bodies are refused (413): an event is a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

export interface ReceivedWebhook {
  /** The body exactly as received. */
  readonly rawBody: string;
  readonly signatureHeader: string;
  readonly timestampSeconds: number;
  readonly headers: IncomingHttpHeaders;
}

export interface WebhookReceiverOptions {
  /** 0 or absent: any free port. */
  readonly port?: number;
  readonly secret: string;
  /** Largest age (or skew) of a signature's timestamp; verifySignature's default when absent. */
  readonly toleranceSeconds?: number;
  /**
   * Called once per verified request. A number returned is the HTTP status answered (200
   * otherwise), so a test can play a failing receiver; a throw answers 500.
   */
  readonly onEvent: (event: NotificationEvent, received: ReceivedWebhook) => void | number | Promise<void | number>;
  /** Called for every refused request, with the status answered and why. */
  readonly onRejected?: (status: number, reason: string) => void;
}

export interface WebhookReceiver {
  readonly port: number;
  /** `http://127.0.0.1:<port>/`: any path is accepted. */
  readonly url: string;
  close(): Promise<void>;
}

class RequestRefused extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) throw new RequestRefused(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseEvent(rawBody: string, headerId: string | undefined): NotificationEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    throw new RequestRefused(400, 'body is not JSON');
  }
  const event = parsed as Partial<NotificationEvent> | null;
  if (typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.clientId !== 'string') {
    throw new RequestRefused(400, 'body is not an event (id, type and clientId are required)');
  }
  if (headerId !== event.id) throw new RequestRefused(400, `${EVENT_ID_HEADER} differs from the body's id`);
  return event as NotificationEvent;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      if (request.method !== 'POST') throw new RequestRefused(405, `method ${request.method ?? 'none'}; allowed: POST`);
      const rawBody = await readBody(request);
      const signatureHeader = request.headers[SIGNATURE_HEADER.toLowerCase()];
      const header = Array.isArray(signatureHeader) ? signatureHeader[0] : signatureHeader;
      const verification = verifySignature(rawBody, header, options.secret, { toleranceSeconds: options.toleranceSeconds });
      if (!verification.valid) throw new RequestRefused(401, `signature ${verification.reason}`);
      const idHeader = request.headers[EVENT_ID_HEADER.toLowerCase()];
      const event = parseEvent(rawBody, Array.isArray(idHeader) ? idHeader[0] : idHeader);
      const status =
        (await options.onEvent(event, { rawBody, signatureHeader: header ?? '', timestampSeconds: verification.timestampSeconds, headers: request.headers })) ??
        200;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 200 && status < 300 ? 'ok\n' : `status ${status}\n`);
    } catch (error) {
      const refused =
        error instanceof RequestRefused
          ? error
          : new RequestRefused(500, `the event handler failed: ${error instanceof Error ? error.message : String(error)}`);
      options.onRejected?.(refused.status, refused.reason);
      if (!response.headersSent) response.writeHead(refused.status, { 'content-type': 'text/plain' }).end(`${refused.reason}\n`);
    }
  };
  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the webhook receiver has no address');
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // A sender still waiting on a slow answer must not keep the server open.
        server.closeAllConnections();
      }),
  };
}
