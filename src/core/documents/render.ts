// Rendering documents: HTML from Eta templates (HTML-escaped by default), PDF drawn with pdfkit in
// DejaVu Sans (the standard PDF fonts have no peso sign), the same texts in both. Templates are
// read from the document-templates-dir setting first, file by file, then from the built-in ones.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { IspctlError, invalid } from '../errors.js';
import type { Document, InvoiceDocument, ReceiptDocument } from './model.js';

export const DOCUMENT_FORMATS = ['pdf', 'html'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

export function parseDocumentFormat(raw: string | undefined): DocumentFormat {
  const f = String(raw ?? 'pdf').trim().toLowerCase();
  if (!(DOCUMENT_FORMATS as readonly string[]).includes(f)) throw invalid('INVALID_FORMAT', `Format ${JSON.stringify(raw)} is not one of ${DOCUMENT_FORMATS.join(', ')}.`, ['--format pdf', '--format html']);
  return f as DocumentFormat;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the ispctl package root (templates/ next to package.json)');
}

export function builtinDocumentsDir(): string {
  return join(packageRoot(), 'templates', 'documents');
}

function readTemplate(name: string, overrideDir: string | null): { text: string; source: string } {
  const dirs = overrideDir ? [resolve(overrideDir), builtinDocumentsDir()] : [builtinDocumentsDir()];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (existsSync(path)) {
      try {
        return { text: readFileSync(path, 'utf8').replace(/^\uFEFF/, ''), source: path };
      } catch (err) {
        throw new IspctlError('TEMPLATE_UNREADABLE', `Cannot read document template ${path}: ${(err as Error).message}.`, { kind: 'failure', suggestions: ['Check the document-templates-dir setting'] });
      }
    }
  }
  throw new IspctlError('TEMPLATE_MISSING', `The document template ${name} is missing.`, { kind: 'failure' });
}

function render(name: string, data: object, opts: { templatesDir: string | null; html: boolean }): string {
  const { text, source } = readTemplate(name, opts.templatesDir);
  const eta = new Eta({ autoEscape: opts.html, autoTrim: false, useWith: false, cache: false });
  try {
    return eta.renderString(text, data);
  } catch (err) {
    throw new IspctlError('TEMPLATE_INVALID', `Document template ${source} does not render: ${(err as Error).message.split('\n')[0]}`, { kind: 'invalid', cause: err, suggestions: ['Fix the template, or remove it from document-templates-dir to use the built-in one'] });
  }
}

/** The plain-text parts (payment instructions, footer), shared by HTML and PDF. */
export function documentTexts(doc: Document, templatesDir: string | null): { instructions: string | null; footer: string } {
  const footer = render('footer.txt.eta', doc, { templatesDir, html: false }).trim();
  const instructions = doc.kind === 'invoice' ? render('payment-instructions.txt.eta', doc, { templatesDir, html: false }).trim() : null;
  return { instructions, footer };
}

export async function renderHtml(doc: Document, templatesDir: string | null = null): Promise<string> {
  const texts = documentTexts(doc, templatesDir);
  const qrSvg = doc.kind === 'invoice' && doc.pay.qrText ? await (await import('qrcode')).default.toString(doc.pay.qrText, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 }) : null;
  return render(doc.kind === 'invoice' ? 'invoice.html.eta' : 'receipt.html.eta', { doc, ...texts, qrSvg }, { templatesDir, html: true });
}

// ---- PDF --------------------------------------------------------------------------------------

const A4 = { width: 595.28, height: 841.89 };
const MARGIN = 48;

function fontPaths(templatesDir: string | null): { regular: string; bold: string } {
  const find = (file: string) => {
    for (const dir of [templatesDir ? join(resolve(templatesDir), 'fonts') : null, join(builtinDocumentsDir(), 'fonts')]) {
      if (dir && existsSync(join(dir, file))) return join(dir, file);
    }
    throw new IspctlError('FONT_MISSING', `The font ${file} is missing from templates/documents/fonts.`, { kind: 'failure' });
  };
  return { regular: find('DejaVuSans.ttf'), bold: find('DejaVuSans-Bold.ttf') };
}

type Pdf = PDFKit.PDFDocument;

/** A QR code's modules (qrcode's create()). */
type QrCode = { modules: { size: number; get(r: number, c: number): number | boolean } };

function drawQr(pdf: Pdf, qr: QrCode, x: number, y: number, size: number): void {
  const n = qr.modules.size;
  const cell = size / (n + 2);
  pdf.save().fillColor('#000');
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.modules.get(r, c)) pdf.rect(x + (c + 1) * cell, y + (r + 1) * cell, cell, cell);
    }
  }
  pdf.fill().restore();
}

function header(pdf: Pdf, doc: Document, right: string[]): number {
  const width = A4.width - 2 * MARGIN;
  pdf.font('bold').fontSize(16).text(doc.isp.name, MARGIN, MARGIN, { width: width * 0.6 });
  pdf.font('regular').fontSize(9);
  for (const l of doc.isp.addressLines) pdf.text(l, { width: width * 0.6 });
  if (doc.isp.taxLine) pdf.text(doc.isp.taxLine, { width: width * 0.6 });
  const leftBottom = pdf.y;
  pdf.font('bold').fontSize(14).text(doc.title, MARGIN + width * 0.6, MARGIN, { width: width * 0.4, align: 'right' });
  pdf.font('regular').fontSize(9);
  for (const l of right) pdf.text(l, MARGIN + width * 0.6, pdf.y, { width: width * 0.4, align: 'right' });
  if (doc.void) pdf.font('bold').fillColor('#b00000').text(`VOID${doc.voidReason ? `: ${doc.voidReason}` : ''}`, MARGIN + width * 0.6, pdf.y, { width: width * 0.4, align: 'right' }).fillColor('#000').font('regular');
  const y = Math.max(leftBottom, pdf.y) + 8;
  pdf.moveTo(MARGIN, y).lineTo(A4.width - MARGIN, y).lineWidth(1.5).stroke();
  return y + 12;
}

interface Col {
  header: string;
  width: number;
  align: 'left' | 'right';
}

function table(pdf: Pdf, cols: Col[], rows: string[][], y: number): number {
  const x0 = MARGIN;
  const draw = (cells: string[], bold: boolean, top: number): number => {
    pdf.font(bold ? 'bold' : 'regular').fontSize(9);
    let x = x0;
    let h = 0;
    cells.forEach((cell, i) => {
      const c = cols[i]!;
      h = Math.max(h, pdf.heightOfString(cell, { width: c.width - 6 }));
      pdf.text(cell, x + 3, top + 4, { width: c.width - 6, align: c.align });
      x += c.width;
    });
    const bottom = top + h + 8;
    pdf.moveTo(x0, bottom).lineTo(x0 + cols.reduce((s, c) => s + c.width, 0), bottom).lineWidth(0.5).strokeColor('#bbbbbb').stroke().strokeColor('#000');
    return bottom;
  };
  let top = draw(cols.map((c) => c.header), true, y);
  for (const r of rows) {
    if (top > A4.height - 160) {
      pdf.addPage();
      top = MARGIN;
    }
    top = draw(r, false, top);
  }
  return top + 10;
}

function totals(pdf: Pdf, pairs: Array<[string, string, boolean?]>, y: number): number {
  const width = A4.width - 2 * MARGIN;
  let top = y;
  for (const [label, value, strong] of pairs) {
    pdf.font(strong ? 'bold' : 'regular').fontSize(strong ? 11 : 9);
    pdf.text(label, MARGIN, top, { width: width - 110, align: 'right' });
    pdf.text(value, MARGIN + width - 105, top, { width: 105, align: 'right' });
    top = pdf.y + 3;
  }
  return top + 8;
}

function footer(pdf: Pdf, text: string, y: number): void {
  pdf.font('regular').fontSize(8).fillColor('#555555').text(text, MARGIN, Math.max(y, A4.height - MARGIN - 40), { width: A4.width - 2 * MARGIN }).fillColor('#000');
}

function drawInvoice(pdf: Pdf, d: InvoiceDocument, texts: { instructions: string | null; footer: string }, qr: QrCode | null): void {
  let y = header(pdf, d, [`No. ${d.number}`, `Issued ${d.issueDate}`, `Due ${d.dueDate}`]);
  pdf.font('regular').fontSize(9).fillColor('#555555').text('Bill to', MARGIN, y).fillColor('#000');
  pdf.font('bold').fontSize(10).text(`${d.customer.name} (account ${d.customer.accountNo})`);
  pdf.font('regular').fontSize(9);
  for (const l of d.customer.addressLines) pdf.text(l);
  pdf.text(`Service period ${d.periodStart} to ${d.periodEnd}`);
  y = pdf.y + 10;
  const width = A4.width - 2 * MARGIN;
  const cols: Col[] = [
    { header: 'Description', width: width * 0.3, align: 'left' },
    { header: 'Qty', width: width * 0.12, align: 'left' },
    { header: 'Unit price', width: width * 0.13, align: 'right' },
    { header: 'Amount', width: width * 0.13, align: 'right' },
    { header: 'Discount', width: width * 0.18, align: 'right' },
    { header: 'Total', width: width * 0.14, align: 'right' },
  ];
  y = table(pdf, cols, d.lines.map((l) => [l.detail ? `${l.description}\n${l.detail}` : l.description, l.quantity, l.unitPrice, l.amount, l.discount ?? '', l.total]), y);
  const pairs: Array<[string, string, boolean?]> = [['Subtotal', d.subtotal]];
  if (d.discount) pairs.push(['Discounts', d.discount]);
  if (d.vat) pairs.push(['VATable sales', d.vat.vatable], ['VAT (12%)', d.vat.vat]);
  pairs.push(['Total this invoice', d.total]);
  if (d.paidMinor > 0n) pairs.push(['Paid', `-${d.paid}`]);
  pairs.push(['Balance brought forward', d.balanceForward]);
  if (d.credit) pairs.push(['Credit on account', d.credit]);
  pairs.push([`Amount due by ${d.dueDate}`, d.amountDue, true]);
  y = totals(pdf, pairs, y);
  if (y > A4.height - 220) {
    pdf.addPage();
    y = MARGIN;
  }
  const boxTop = y;
  const qrSize = qr ? 110 : 0;
  pdf.font('bold').fontSize(10).text('How to pay', MARGIN + 10, boxTop + 10, { width: width - qrSize - 30 });
  pdf.font('regular').fontSize(9).text(texts.instructions ?? '', { width: width - qrSize - 30 });
  if (qr) drawQr(pdf, qr, MARGIN + width - qrSize - 10, boxTop + 10, qrSize);
  const boxBottom = Math.max(pdf.y + 10, boxTop + qrSize + 20);
  pdf.roundedRect(MARGIN, boxTop, width, boxBottom - boxTop, 4).lineWidth(0.8).strokeColor('#999999').stroke().strokeColor('#000');
  footer(pdf, texts.footer, boxBottom + 20);
}

function drawReceipt(pdf: Pdf, d: ReceiptDocument, texts: { footer: string }): void {
  let y = header(pdf, d, [`No. ${d.number}`, `Received ${d.receivedOn}`]);
  pdf.font('regular').fontSize(10).text(`Received from ${d.customer.name} (account ${d.customer.accountNo})`, MARGIN, y);
  pdf.font('bold').fontSize(18).text(d.amount, { continued: false });
  pdf.font('regular').fontSize(10).text(`by ${d.method}${d.reference ? `, reference ${d.reference}` : ''}`);
  y = pdf.y + 10;
  const width = A4.width - 2 * MARGIN;
  if (d.applied.length) {
    y = table(pdf, [
      { header: 'Applied to invoice', width: width * 0.45, align: 'left' },
      { header: 'Period', width: width * 0.25, align: 'left' },
      { header: 'Amount', width: width * 0.3, align: 'right' },
    ], d.applied.map((a) => [a.invoice, a.period, a.amount]), y);
  }
  const pairs: Array<[string, string, boolean?]> = [];
  if (d.credit) pairs.push(['Kept as credit', d.credit]);
  pairs.push(['Account balance as of today', d.balanceAfter, true]);
  y = totals(pdf, pairs, y);
  footer(pdf, texts.footer, y + 20);
}

/** The document as a PDF (A4). Deterministic for the same document: no creation date in it. */
export async function renderPdf(doc: Document, templatesDir: string | null = null): Promise<Buffer> {
  const texts = documentTexts(doc, templatesDir);
  const fonts = fontPaths(templatesDir);
  // pdfkit and qrcode are loaded here, not at start-up: pdfkit alone costs a command that never
  // renders a PDF a few hundred milliseconds (it inflates its font and line-break data on load).
  const { default: PDFDocument } = await import('pdfkit');
  const qr = doc.kind === 'invoice' && doc.pay.qrText ? (await import('qrcode')).default.create(doc.pay.qrText, { errorCorrectionLevel: 'M' }) : null;
  const pdf = new PDFDocument({ size: 'A4', margin: MARGIN, info: { Title: `${doc.title} ${doc.number}`, Author: doc.isp.name, CreationDate: new Date(0) }, compress: true });
  pdf.registerFont('regular', fonts.regular);
  pdf.registerFont('bold', fonts.bold);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((res, rej) => {
    pdf.on('data', (c: Buffer) => chunks.push(c));
    pdf.on('end', () => res(Buffer.concat(chunks)));
    pdf.on('error', rej);
  });
  if (doc.kind === 'invoice') drawInvoice(pdf, doc, texts, qr);
  else drawReceipt(pdf, doc, texts);
  pdf.end();
  return done;
}

export async function renderDocument(doc: Document, format: DocumentFormat, templatesDir: string | null = null): Promise<Buffer> {
  return format === 'pdf' ? renderPdf(doc, templatesDir) : Buffer.from(await renderHtml(doc, templatesDir), 'utf8');
}
