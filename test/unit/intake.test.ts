// Signature checks and notification parsing, without a database: constant-time HMAC over
// "<timestamp>.<body>", timestamp tolerance, PayMongo's te/li by livemode, strict amounts.
import { describe, expect, it } from 'vitest';
import { MalformedNotification, parseGeneric, parsePaymongo } from '../../src/core/intake/formats.js';
import { makeLinkToken, shortTokenSigner, verifyLinkToken, verifyShortToken } from '../../src/core/intake/links.js';
import { checkoutUrl } from '../../src/core/intake/page.js';
import { hexEqual, hmacHex, verifyGeneric, verifyPaymongo } from '../../src/core/intake/signature.js';

const now = new Date('2026-12-02T01:00:00Z');
const t = Math.floor(now.getTime() / 1000);
const body = Buffer.from('{"id":"x"}');

describe('signatures', () => {
  it('computes HMAC-SHA256 of "<t>.<body>" in hex (as documented for curl and openssl)', () => {
    // printf '%s' '1764637200.{"id":"x"}' | openssl dgst -sha256 -hmac s3cret
    expect(hmacHex('s3cret', 1764637200, body)).toMatch(/^[0-9a-f]{64}$/);
    expect(hmacHex('s3cret', 1764637200, body)).toBe(hmacHex('s3cret', '1764637200', body.toString()));
    expect(hexEqual('ab'.repeat(32), 'AB'.repeat(32))).toBe(true);
    expect(hexEqual('ab'.repeat(32), 'ab'.repeat(31))).toBe(false);
    expect(hexEqual('ab'.repeat(32), 'zz'.repeat(32))).toBe(false);
  });

  it('generic: right signature passes; wrong secret, changed body, old or future timestamp fail', () => {
    const h = (ts: number, sig = hmacHex('k', ts, body)) => ({ 'x-ispctl-timestamp': String(ts), 'x-ispctl-signature': `sha256=${sig}` });
    expect(verifyGeneric(h(t), body, 'k', now, 300)).toEqual({ ok: true, timestamp: t });
    expect(verifyGeneric(h(t, hmacHex('other', t, body)), body, 'k', now, 300).ok).toBe(false);
    expect(verifyGeneric(h(t), Buffer.from('{"id":"y"}'), 'k', now, 300).ok).toBe(false);
    expect(verifyGeneric(h(t - 301), body, 'k', now, 300)).toMatchObject({ ok: false, reason: expect.stringContaining('old') });
    expect(verifyGeneric(h(t + 301), body, 'k', now, 300)).toMatchObject({ ok: false, reason: expect.stringContaining('future') });
    expect(verifyGeneric({}, body, 'k', now, 300).ok).toBe(false);
  });

  it('paymongo: te counts in test mode, li in live mode', () => {
    const sig = hmacHex('whsk', t, body);
    const header = { 'paymongo-signature': `t=${t},te=${sig},li=` };
    expect(verifyPaymongo(header, body, 'whsk', now, 300, false).ok).toBe(true);
    expect(verifyPaymongo(header, body, 'whsk', now, 300, true).ok).toBe(false);
    expect(verifyPaymongo({ 'paymongo-signature': `t=${t},te=,li=${sig}` }, body, 'whsk', now, 300, true).ok).toBe(true);
  });
});

describe('notification formats', () => {
  it('generic: decimal strings with the currency decimals only', () => {
    expect(parseGeneric({ id: 'a', amount: '1500.00', currency: 'PHP', account: 'S-000001' }, 'PHP')).toMatchObject({ amountMinor: 150000n, account: 'S-000001', invoice: null });
    for (const amount of ['1,500.00', '1500.001', '-5.00', '0.00', 1500, '1e3', '₱1500']) {
      expect(() => parseGeneric({ id: 'a', amount, currency: 'PHP', account: 'S-000001' }, 'PHP'), String(amount)).toThrow(MalformedNotification);
    }
    expect(() => parseGeneric({ id: 'a', amount: '1.00', currency: 'USD', account: 'S-000001' }, 'PHP')).toThrow(/currency/);
    expect(() => parseGeneric({ id: 'a', amount: '1.00', currency: 'PHP' }, 'PHP')).toThrow(/account/);
  });

  it('paymongo: payment.paid with integer centavos; other events ignored; the account from metadata or the description', () => {
    const ev = (attrs: Record<string, unknown>, type = 'payment.paid') => ({ data: { id: 'evt_1', attributes: { type, livemode: false, data: { id: 'pay_1', attributes: { amount: 150000, currency: 'PHP', status: 'paid', ...attrs } } } } });
    expect(parsePaymongo(ev({ metadata: { account_no: 'S-000007' }, source: { type: 'gcash' } }), 'PHP')).toMatchObject({ kind: 'payment', transactionId: 'pay_1', amountMinor: 150000n, account: 'S-000007', method: 'gcash' });
    expect(parsePaymongo(ev({ description: 'Bill for inv-2026-000123' }), 'PHP')).toMatchObject({ invoice: 'INV-2026-000123', account: null });
    expect(parsePaymongo(ev({}, 'payment.failed'), 'PHP')).toMatchObject({ kind: 'ignored' });
    expect(() => parsePaymongo(ev({ amount: 1500.5 }), 'PHP')).toThrow(MalformedNotification);
    expect(() => parsePaymongo(ev({ status: 'pending' }), 'PHP')).toThrow(MalformedNotification);
    expect(() => parsePaymongo({ data: {} }, 'PHP')).toThrow(MalformedNotification);
  });
});

describe('payment links', () => {
  const env = { ISPCTL_SECRET_KEY: 'b4'.repeat(32) };
  it('verify until they expire; a changed account or expiry fails', () => {
    const token = makeLinkToken(env, 'S-000123', new Date(now.getTime() + 86_400_000));
    expect(verifyLinkToken(env, token, now)).toMatchObject({ ok: true, account: 'S-000123' });
    expect(verifyLinkToken(env, token.replace('S-000123', 'S-000124'), now)).toEqual({ ok: false, reason: 'bad-signature' });
    const [a, e, s] = token.split('.');
    expect(verifyLinkToken(env, `${a}.${Number(e) + 86400}.${s}`, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyLinkToken(env, token, new Date(now.getTime() + 2 * 86_400_000))).toEqual({ ok: false, reason: 'expired' });
    expect(verifyLinkToken({ ISPCTL_SECRET_KEY: 'c5'.repeat(32) }, token, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyLinkToken(env, '../../etc/passwd', now)).toEqual({ ok: false, reason: 'malformed' });
  });
  it('short links (SMS): about 30 characters, verified until their expiry day, then redirected to a full link of the same expiry', () => {
    const expires = new Date(now.getTime() + 14 * 86_400_000);
    const token = shortTokenSigner(env)('S-000123', expires);
    expect(token).toMatch(/^000123\.[0-9a-z]+\.[A-Za-z0-9_-]{16}$/);
    expect(token.length).toBeLessThan(32);
    const ok = verifyShortToken(env, token, now);
    expect(ok).toMatchObject({ ok: true, account: 'S-000123' });
    if (!ok.ok) throw new Error('not ok');
    // The expiry is rounded up to a whole day, never earlier than asked.
    expect(ok.expiresAt.getTime()).toBeGreaterThanOrEqual(expires.getTime());
    expect(ok.expiresAt.getTime() - expires.getTime()).toBeLessThan(86_400_000);
    expect(verifyLinkToken(env, ok.payToken, now)).toMatchObject({ ok: true, account: 'S-000123', expiresAt: ok.expiresAt });
    const [d, day, sig] = token.split('.');
    expect(verifyShortToken(env, `000124.${day}.${sig}`, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyShortToken(env, `${d}.${(parseInt(day!, 36) + 1).toString(36)}.${sig}`, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyShortToken({ ISPCTL_SECRET_KEY: 'c5'.repeat(32) }, token, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyShortToken(env, token, ok.expiresAt)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyShortToken(env, '..%2f..%2fetc', now)).toEqual({ ok: false, reason: 'malformed' });
    // A full link's token does not pass as a short one.
    expect(verifyShortToken(env, makeLinkToken(env, 'S-000123', expires), now)).toEqual({ ok: false, reason: 'malformed' });
  });
  it('fill the checkout template with URL-encoded values', () => {
    expect(checkoutUrl('https://x/pay?r={{account}}&n={{name}}', { account: 'S-1', name: 'A&B "C"' })).toBe('https://x/pay?r=S-1&n=A%26B%20%22C%22');
  });
});
