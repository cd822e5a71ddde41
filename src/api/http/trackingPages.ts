/** The bytes and pages the tracking endpoints answer with (src/api/http/tracking.ts). */

/** A 1×1 transparent GIF. */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Nothing on these pages is user-controlled; the CSP still allows only inline style and posting to ourselves. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex, nofollow',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
} as const;

export const PIXEL_HEADERS = {
  'content-type': 'image/gif',
  'cache-control': 'no-store, no-cache, must-revalidate, private',
  'referrer-policy': 'no-referrer',
} as const;

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1rem}</style>
</head><body>${body}</body></html>`;

/**
 * The confirmation page behind the List-Unsubscribe link. Visiting it changes nothing (link scanners follow GET
 * links); the form posts the same body a mail client's one-click POST sends (RFC 8058), to this same URL.
 */
export const confirmUnsubscribePage = (): string =>
  page(
    'Unsubscribe',
    `<h1>Unsubscribe</h1><p>Do you want to stop receiving these emails?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );

export const unsubscribedPage = (): string => page('Unsubscribed', '<h1>You are unsubscribed</h1><p>You will not receive these emails any more.</p>');
