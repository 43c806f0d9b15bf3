// The daemon's HTTP listener (node:http; off unless intake-listen is set): payment
// notifications from gateways and the subscribers' payment pages. Put it behind a TLS proxy.
//
//   POST /webhooks/<gateway>                   a signed payment notification
//   GET  /p/<short token>                      a short link (SMS): redirects to /pay/<token>
//   GET  /pay/<token>                          the subscriber's payment page
//   GET  /pay/<token>/invoices/<number>.pdf    one of their open invoices as a PDF
//   GET  /healthz                              200 ok
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceContext } from '../context.js';
import { loadDocumentSettings } from '../documents/model.js';
import { renderInvoice } from '../documents/service.js';
import type { ApplyOptions } from '../provisioning/apply.js';
import { verifyLinkToken, verifyShortToken } from './links.js';
import { linkProblemPage, payPage, renderPayPage } from './page.js';
import { handleWebhook } from './webhook.js';
import { describeError } from '../error-text.js';

export const MAX_BODY_BYTES = 64 * 1024;

export interface IntakeServerOptions {
  host: string;
  port: number;
  /** Runs `fn` with a service context (the daemon opens the database as it needs). */
  withContext<T>(fn: (ctx: ServiceContext) => Promise<T>): Promise<T>;
  apply?: ApplyOptions;
  log?(level: 'info' | 'warn', message: string): void;
}

export interface IntakeServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', { 'cache-control': 'no-store' });
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startIntakeServer(opts: IntakeServerOptions): Promise<IntakeServer> {
  const log = opts.log ?? (() => undefined);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log('warn', `${req.method} ${String(req.url).split('?')[0]!.replace(/\/pay\/[^/]+/, '/pay/…').replace(/^\/p\/[^/]+/, '/p/…')} failed: ${describeError(err)}`);
      if (!res.headersSent) json(res, 500, { ok: false, message: 'internal error; the notification was not recorded, send it again' });
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://intake.invalid');
    const path = url.pathname;
    if (path === '/healthz') return send(res, 200, 'ok\n', 'text/plain; charset=utf-8');
    const hook = /^\/webhooks\/([^/]{1,64})$/.exec(path);
    if (hook) {
      if (req.method !== 'POST') return json(res, 405, { ok: false, message: 'use POST' });
      const body = await readBody(req);
      if (body === 'too-large') return json(res, 413, { ok: false, message: `the body is larger than ${MAX_BODY_BYTES} bytes` });
      const r = await opts.withContext((ctx) =>
        handleWebhook({ ...ctx, actor: { user: `webhook:${hook[1]}`, command: `POST ${path}` } }, { gateway: decodeURIComponent(hook[1]!), headers: req.headers, rawBody: body, remoteAddr: req.socket.remoteAddress }, opts.apply),
      );
      log(r.outcome === 'rejected' ? 'warn' : 'info', `webhook ${hook[1]}: ${r.status} ${r.outcome}: ${r.message}`);
      return json(res, r.status, { ok: r.status < 300, outcome: r.outcome, message: r.message, ...(r.paymentId ? { payment: `P-${r.paymentId}` } : {}) });
    }
    const short = /^\/p\/([^/]{1,60})$/.exec(path);
    if (short) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'use GET\n', 'text/plain; charset=utf-8');
      return opts.withContext(async (ctx) => {
        const check = verifyShortToken(ctx.env, short[1]!, ctx.clock.now());
        if (!check.ok) {
          const doc = await loadDocumentSettings(ctx.db);
          return send(res, check.reason === 'expired' ? 410 : 404, linkProblemPage(doc.ispName, check.reason === 'expired' ? 'expired' : 'invalid'), 'text/html; charset=utf-8', PAGE_HEADERS);
        }
        return send(res, 303, '', 'text/plain; charset=utf-8', { ...PAGE_HEADERS, location: `/pay/${check.payToken}` });
      });
    }
    const pay = /^\/pay\/([^/]{1,120})(?:\/invoices\/([^/]{1,80})\.pdf)?$/.exec(path);
    if (pay) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'use GET\n', 'text/plain; charset=utf-8');
      return opts.withContext(async (ctx) => {
        const doc = await loadDocumentSettings(ctx.db);
        const check = verifyLinkToken(ctx.env, pay[1]!, ctx.clock.now());
        if (!check.ok) return send(res, check.reason === 'expired' ? 410 : 404, linkProblemPage(doc.ispName, check.reason === 'expired' ? 'expired' : 'invalid'), 'text/html; charset=utf-8', PAGE_HEADERS);
        if (pay[2]) {
          const number = decodeURIComponent(pay[2]);
          const own = await ctx.db('invoices as i').join('subscribers as s', 's.id', 'i.subscriber_id').whereRaw('upper(i.number) = upper(?)', [number]).where('s.account_no', check.account).whereNot('i.status', 'draft').first('i.number');
          if (!own) return send(res, 404, linkProblemPage(doc.ispName, 'invalid'), 'text/html; charset=utf-8', PAGE_HEADERS);
          const pdf = await renderInvoice(ctx, { number: String(own.number), format: 'pdf' });
          return send(res, 200, pdf.content, 'application/pdf', { ...PAGE_HEADERS, 'content-disposition': `inline; filename="${pdf.fileName}"` });
        }
        const page = await payPage(ctx, { accountNo: check.account, token: pay[1]!, expiresAt: check.expiresAt });
        if (!page) return send(res, 404, linkProblemPage(doc.ispName, 'invalid'), 'text/html; charset=utf-8', PAGE_HEADERS);
        return send(res, 200, await renderPayPage(page, doc.templatesDir), 'text/html; charset=utf-8', PAGE_HEADERS);
      });
    }
    return json(res, 404, { ok: false, message: 'not found' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  log('info', `listening on http://${addr.address}:${addr.port} (webhooks, payment pages)`);
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Parses intake-listen (`host:port`); null when off. */
export function parseListenSetting(value: unknown): { host: string; port: number } | null {
  const s = String(value ?? 'off');
  if (s === 'off') return null;
  const m = /^(\[[0-9a-f:]+\]|[a-z0-9.-]+):(\d{1,5})$/i.exec(s);
  if (!m) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

