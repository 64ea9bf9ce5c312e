/**
 * The status page's HTTP server (node:http): GET pages rendered by page.ts from status-data.ts,
 * and POST actions that go through Temporal (period runs, backfills, schedules) — never around
 * it — so the ledger records them as any run. Every request needs the token when one is set;
 * every POST needs the server's CSRF token and a same-origin request; every action is logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { UiSettings } from '../config/env.js';
import { repairRanges } from '../domain/repair-ranges.js';
import { FREQUENCIES, type Frequency } from '../domain/types.js';
import { scheduleId } from '../domain/workflow-ids.js';
import type { Logger } from '../observability/logger.js';
import { startBackfill, startPeriodRun } from '../temporal/period-runs.js';
import { CELL_STATES, loadPeriodDetail, loadRepairPeriods, loadStatusGrid } from './status-data.js';
import {
  isRerunnable,
  periodPath,
  renderClientPage,
  renderMessagePage,
  renderPeriodPage,
  renderRepairPage,
  renderStatusPage,
  type PageContext,
  type ScheduleView,
} from './page.js';

const TOKEN_COOKIE = 'twoway_ui_token';
const CSRF_BYTES = 32;
/** Form bodies are a few fields; anything larger is refused. */
const MAX_BODY_BYTES = 16 * 1024;
/** Action outcomes kept for the page they redirect to. */
const MAX_NOTICES = 100;
const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface StatusServerOptions {
  readonly knex: Knex;
  readonly temporal: Client;
  readonly namespace: string;
  readonly settings: UiSettings;
  readonly logger: Logger;
}

export interface StatusServer {
  /** http://host:port of the page. */
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time comparison of a presented secret with the expected one. */
function sameSecret(presented: string | undefined, expected: string): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), digest(expected));
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the form is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function required(form: URLSearchParams, name: string): string {
  const value = form.get(name)?.trim();
  if (!value) throw new HttpError(400, `the form has no ${name}`);
  return value;
}

function frequencyOf(value: string | null | undefined): Frequency {
  const frequency = FREQUENCIES.find((candidate) => candidate === value);
  if (!frequency) throw new HttpError(400, `frequency ${JSON.stringify(value ?? '')} is not one of ${FREQUENCIES.join(', ')}`);
  return frequency;
}

function periodStartOf(value: string | null | undefined): string {
  if (!value || !LOCAL_DATE.test(value)) throw new HttpError(400, `period ${JSON.stringify(value ?? '')} is not a date YYYY-MM-DD`);
  return value;
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** Hosts the page answers to: its own address and, on loopback, the loopback names (a rebinding guard). */
function allowedHosts(settings: UiSettings, port: number): Set<string> {
  const bound = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return new Set([`${bound}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
}

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const { knex, temporal, settings, logger } = options;
  const csrf = randomBytes(CSRF_BYTES).toString('hex');
  const notices = new Map<string, string>();
  const temporalUi = settings.temporalUiUrl ? { url: settings.temporalUiUrl, namespace: options.namespace } : null;
  let hosts = new Set<string>();

  const context = (notice: string | null = null): PageContext => ({ csrf, temporalUi, notice });

  function remember(notice: string): string {
    const id = randomBytes(8).toString('hex');
    notices.set(id, notice);
    if (notices.size > MAX_NOTICES) notices.delete(notices.keys().next().value as string);
    return id;
  }

  /** The token, when one is set: from the Authorization header, the cookie, or `?token=` (which sets the cookie). */
  function authorize(request: IncomingMessage, url: URL, response: ServerResponse): boolean {
    if (settings.token === null) {
      if (!hosts.has(request.headers.host ?? '')) throw new HttpError(403, `this page answers only to ${[...hosts].join(', ')}`);
      return true;
    }
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (sameSecret(bearer, settings.token) || sameSecret(cookie(request, TOKEN_COOKIE), settings.token)) return true;
    if (sameSecret(url.searchParams.get('token') ?? undefined, settings.token)) {
      url.searchParams.delete('token');
      response.writeHead(303, {
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(settings.token)}; HttpOnly; SameSite=Strict; Path=/`,
        location: `${url.pathname}${url.search}`,
      });
      response.end();
      return false;
    }
    throw new HttpError(401, 'a token is required (TWOWAY_UI_TOKEN): send `Authorization: Bearer <token>` or open the page once with ?token=<token>');
  }

  /** POSTs come from this page's own forms: the CSRF token matches and the browser says same origin. */
  function checkSameOrigin(request: IncomingMessage, form: URLSearchParams): void {
    const origin = request.headers.origin ?? request.headers.referer;
    if (origin !== undefined) {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        throw new HttpError(403, 'the request comes from another site');
      }
      if (host !== request.headers.host) throw new HttpError(403, 'the request comes from another site');
    }
    if (request.headers['sec-fetch-site'] === 'cross-site') throw new HttpError(403, 'the request comes from another site');
    if (!sameSecret(form.get('csrf') ?? undefined, csrf))
      throw new HttpError(403, 'the form is not from this page (its CSRF token does not match; reload the page)');
  }

  async function schedule(clientId: string): Promise<{ view: ScheduleView | null; problem: string | null }> {
    try {
      const description = await temporal.schedule.getHandle(scheduleId(clientId)).describe();
      return {
        view: { paused: description.state.paused, note: description.state.note ?? null, nextRun: description.info.nextActionTimes[0] ?? null },
        problem: null,
      };
    } catch (error) {
      return { view: null, problem: messageOf(error) };
    }
  }

  async function page(url: URL): Promise<string> {
    const parts = url.pathname
      .split('/')
      .slice(1)
      .map((part) => decodeURIComponent(part));
    if (url.pathname === '/') {
      const state = url.searchParams.get('state') || null;
      const frequency = url.searchParams.get('frequency') || null;
      const filters = {
        client: url.searchParams.get('client') ?? '',
        state: state === null ? null : (CELL_STATES.find((candidate) => candidate === state) ?? null),
        frequency: frequency === null ? null : frequencyOf(frequency),
      };
      return renderStatusPage(await loadStatusGrid(knex, Date.now()), filters, context(noticeOf(url)));
    }
    if (parts[0] === 'p' && parts.length === 4 && parts[1]) {
      const detail = await loadPeriodDetail(knex, parts[1], frequencyOf(parts[2]), periodStartOf(parts[3]));
      return renderPeriodPage(detail, context(noticeOf(url)));
    }
    if (parts[0] === 'c' && parts.length === 2 && parts[1]) {
      const client = (await knex('clients').where({ id: parts[1] }).first('id', 'name', 'frequency', 'enabled', 'environment')) as
        Parameters<typeof renderClientPage>[0] | undefined;
      if (!client) throw new HttpError(404, `no client "${parts[1]}"`);
      const found = await schedule(client.id);
      return renderClientPage(client, found.view, found.problem, context(noticeOf(url)));
    }
    if (url.pathname === '/repair') {
      const clientId = url.searchParams.get('client') || null;
      const periods = await loadRepairPeriods(knex, clientId);
      return renderRepairPage(clientId, periods, planRepair(periods), context(noticeOf(url)));
    }
    throw new HttpError(404, `no page ${url.pathname}`);
  }

  const noticeOf = (url: URL) => notices.get(url.searchParams.get('notice') ?? '') ?? null;

  /** Runs an action; returns where to go next and what to say there. */
  async function act(action: string, form: URLSearchParams): Promise<{ location: string; notice: string; log: Record<string, unknown> }> {
    const clientId = required(form, 'client');
    switch (action) {
      case 'rerun':
      case 'force': {
        const frequency = frequencyOf(form.get('frequency'));
        const periodStart = periodStartOf(form.get('period'));
        const force = action === 'force';
        if (force && form.get('confirm') !== 'yes') throw new HttpError(400, 'a forced revision needs its confirmation (tick the box)');
        const { cell } = await loadPeriodDetail(knex, clientId, frequency, periodStart);
        if (!force && !isRerunnable(cell.state))
          throw new HttpError(
            409,
            `${clientId} ${frequency} ${periodStart} is ${cell.state}: only a failed, missing or late period is rerun; force a revision instead`,
          );
        const handle = await startPeriodRun(temporal, { clientId, frequency, periodStart, force }, (message) => logger.info({ client: clientId }, message));
        const notice = `${force ? 'forced run' : 'rerun'} of ${handle.workflowId} started (run ${handle.firstExecutionRunId})`;
        return {
          location: periodPath(clientId, frequency, periodStart),
          notice,
          log: { frequency, period: periodStart, workflowId: handle.workflowId, runId: handle.firstExecutionRunId },
        };
      }
      case 'pause':
      case 'unpause': {
        const handle = temporal.schedule.getHandle(scheduleId(clientId));
        const note = `${action}d from the status page`;
        await (action === 'pause' ? handle.pause(note) : handle.unpause(note));
        return { location: `/c/${encodeURIComponent(clientId)}`, notice: `schedule of ${clientId} ${action}d`, log: { scheduleId: handle.scheduleId } };
      }
      default:
        throw new HttpError(404, `no action ${action}`);
    }
  }

  /** A repair: the periods the preview listed (judged again now), as backfills of consecutive periods. */
  async function repair(form: URLSearchParams): Promise<{ location: string; notice: string; log: Record<string, unknown> }> {
    const clientId = form.get('client')?.trim() || null;
    const periods = await loadRepairPeriods(knex, clientId);
    const started: string[] = [];
    const failed: string[] = [];
    for (const range of planRepair(periods)) {
      try {
        const handle = await startBackfill(temporal, { clientId: range.clientId, from: range.from, to: range.to, frequency: range.frequency });
        started.push(handle.workflowId);
      } catch (error) {
        failed.push(`${range.clientId} ${range.from}…${range.to}: ${messageOf(error)}`);
      }
    }
    const notice = `repair of ${clientId ?? 'every client'}: ${periods.length} periods, ${started.length} backfills started${failed.length > 0 ? `; not started: ${failed.join('; ')}` : ''}`;
    return {
      location: `/repair${clientId ? `?client=${encodeURIComponent(clientId)}` : ''}`,
      notice,
      log: { periods: periods.length, backfills: started, failed },
    };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://page.invalid');
    if (!authorize(request, url, response)) return;
    if (request.method === 'GET' || request.method === 'HEAD') {
      const html = await page(url);
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      });
      response.end(request.method === 'HEAD' ? undefined : html);
      return;
    }
    const action = /^\/actions\/([a-z]+)$/.exec(url.pathname)?.[1];
    if (request.method !== 'POST' || !action) throw new HttpError(405, `${request.method ?? '?'} ${url.pathname} is not allowed`);
    const form = await readForm(request);
    checkSameOrigin(request, form);
    const what = { action, client: form.get('client') ?? null };
    try {
      const outcome = action === 'repair' ? await repair(form) : await act(action, form);
      logger.info({ ...what, ...outcome.log }, `status page: ${outcome.notice}`);
      const separator = outcome.location.includes('?') ? '&' : '?';
      response.writeHead(303, { location: `${outcome.location}${separator}notice=${remember(outcome.notice)}` });
      response.end();
    } catch (error) {
      logger.warn({ ...what, error: messageOf(error) }, 'status page: action refused or failed');
      throw error;
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) logger.error({ err: error, path: request.url }, 'status page: request failed');
      if (response.headersSent) return void response.end();
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      response.end(renderMessagePage(status === 500 ? 'something went wrong' : 'refused', messageOf(error), context()));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  hosts = allowedHosts(settings, port);
  const shownHost = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return {
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The repair's backfills: per client and frequency, runs of consecutive periods. */
export function planRepair(periods: readonly { clientId: string; frequency: Frequency; periodStart: string }[]) {
  const groups = new Map<string, { clientId: string; frequency: Frequency; starts: string[] }>();
  for (const period of periods) {
    const key = `${period.clientId}\u0000${period.frequency}`;
    const group = groups.get(key) ?? { clientId: period.clientId, frequency: period.frequency, starts: [] };
    group.starts.push(period.periodStart);
    groups.set(key, group);
  }
  return [...groups.values()].flatMap((group) => repairRanges(group.frequency, group.starts).map((range) => ({ ...range, clientId: group.clientId })));
}
