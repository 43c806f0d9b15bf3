// Email over SMTP through nodemailer: one pool of connections per outbox run (notify-email-connections,
// each kept open and reused for many messages), with timeouts so a silent server fails the message
// (to be retried) instead of hanging the run.
import type { Transporter } from 'nodemailer';

/** A file an email carries: a multipart/mixed part, base64, with its file name. */
export interface EmailAttachment {
  fileName: string;
  contentType: string;
  content: Buffer;
}

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  attachments?: EmailAttachment[];
}

export interface EmailSender {
  send(message: EmailMessage): Promise<{ messageId: string }>;
  close(): void;
}

export interface EmailSenderOptions {
  smtpUrl: string;
  from: string;
  /** Connect and greeting timeout, ms (default 10 s). */
  connectTimeoutMs?: number;
  /** Idle socket timeout, ms (default 30 s). */
  socketTimeoutMs?: number;
  /** Connections kept open (default 4). */
  maxConnections?: number;
  /** false: a new connection for every message (no pool). */
  pool?: boolean;
}

/** Messages sent on one pooled connection before it is replaced (servers limit this too). */
const MESSAGES_PER_CONNECTION = 1000;

/** A host name for messages and errors, without credentials. */
export function smtpHost(smtpUrl: string): string {
  try {
    const u = new URL(smtpUrl);
    return u.port ? `${u.hostname}:${u.port}` : u.hostname;
  } catch {
    return 'the SMTP server';
  }
}

export function createEmailSender(opts: EmailSenderOptions): EmailSender {
  // nodemailer is loaded on the first message, not when a command that might queue one starts.
  let transport: Promise<Transporter> | undefined;
  const pooled = opts.pool ?? true;
  const open = async () => (await import('nodemailer')).createTransport({
    url: opts.smtpUrl,
    ...(pooled ? { pool: true as const, maxConnections: opts.maxConnections ?? 4, maxMessages: MESSAGES_PER_CONNECTION } : {}),
    connectionTimeout: opts.connectTimeoutMs ?? 10_000,
    greetingTimeout: opts.connectTimeoutMs ?? 10_000,
    socketTimeout: opts.socketTimeoutMs ?? 30_000,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    async send(message) {
      try {
        const info = await (await (transport ??= open())).sendMail({
          from: opts.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          attachments: message.attachments?.map((a) => ({ filename: a.fileName, contentType: a.contentType, content: a.content, contentDisposition: 'attachment' as const })),
        });
        return { messageId: String(info.messageId ?? '') };
      } catch (err) {
        const e = err as Error & { code?: string; responseCode?: number };
        // nodemailer errors do not carry the password; say which server and why.
        throw new Error(`SMTP ${smtpHost(opts.smtpUrl)}: ${e.responseCode ? `${e.responseCode} ` : ''}${e.code && !e.message.includes(e.code) ? `${e.code} ` : ''}${e.message}`);
      }
    },
    close() {
      void transport?.then((t) => t.close()).catch(() => undefined);
    },
  };
}
