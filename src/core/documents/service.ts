// Documents as files: the invoice or receipt rendered in the format asked, with a file name.
import type { ServiceContext } from '../context.js';
import { invoiceDocument, loadDocumentSettings, receiptDocument, type InvoiceDocument, type ReceiptDocument } from './model.js';
import { parseDocumentFormat, renderDocument, type DocumentFormat } from './render.js';

export interface RenderedDocument {
  kind: 'invoice' | 'receipt';
  number: string;
  format: DocumentFormat;
  contentType: string;
  fileName: string;
  content: Buffer;
  /** The figures the document shows, for --json and checks. */
  document: InvoiceDocument | ReceiptDocument;
}

const CONTENT_TYPES: Record<DocumentFormat, string> = { pdf: 'application/pdf', html: 'text/html; charset=utf-8' };

export function safeFileName(number: string, format: DocumentFormat): string {
  return `${number.replace(/[^A-Za-z0-9._-]+/g, '_')}.${format}`;
}

export async function renderInvoice(ctx: Pick<ServiceContext, 'db' | 'clock'>, opts: { number: string; format?: string; payUrl?: string | null }): Promise<RenderedDocument> {
  const format = parseDocumentFormat(opts.format);
  const doc = await invoiceDocument(ctx, opts.number, { payUrl: opts.payUrl ?? null });
  const { templatesDir } = await loadDocumentSettings(ctx.db);
  const content = await renderDocument(doc, format, templatesDir);
  return { kind: 'invoice', number: doc.number, format, contentType: CONTENT_TYPES[format], fileName: safeFileName(doc.number, format), content, document: doc };
}

export async function renderReceipt(ctx: Pick<ServiceContext, 'db' | 'clock'>, opts: { payment: string | number; format?: string }): Promise<RenderedDocument> {
  const format = parseDocumentFormat(opts.format);
  const doc = await receiptDocument(ctx, opts.payment);
  const { templatesDir } = await loadDocumentSettings(ctx.db);
  const content = await renderDocument(doc, format, templatesDir);
  return { kind: 'receipt', number: doc.number, format, contentType: CONTENT_TYPES[format], fileName: safeFileName(`receipt-${doc.number}`, format), content, document: doc };
}
