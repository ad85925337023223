import * as z from 'zod';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { PREVIEW_UNSUBSCRIBE_TOKEN } from '../../shared/links/unsubscribe-link.ts';
import { readUnsubscribeToken, unsubscribe } from '../../shared/campaigns/unsubscribe.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { renderResultPage } from '../../shared/forms/embed.ts';
import { escapeHtml } from '../../shared/html.ts';
import { html, httpApi, route } from '../../shared/http/api.ts';
import { functionConfig } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';

const config = functionConfig('unsubscribe', { tables: { ...CONTACT_TABLES, idempotency: true, campaigns: true }, queues: {}, publishesEvents: true, usesSecret: true });
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const deps = { contacts: contacts.store, service: contacts.service, timeline: contacts.timeline, markers: new IdempotencyMarkers(config.tables.idempotency), campaigns: new CampaignStore(config.tables.campaigns) };
const Params = z.object({ token: z.string().max(4096) });
const noStore = { 'cache-control': 'no-store' };
const preview = () => html(200, renderResultPage('thanks', { title: 'Preview', message: 'This link is in a preview. In a real message it unsubscribes the recipient; here nothing happened.' }), noStore);
const invalid = () => html(400, renderResultPage('error', { title: 'This link is not valid', message: 'This unsubscribe link is not valid. If you keep receiving messages, reply to one of them.' }), noStore);

/** The confirmation page: nothing changes on GET (mail scanners follow links); the button posts. */
function confirmPage(channel: 'email' | 'sms'): string {
  const what = channel === 'email' ? 'email' : 'text messages';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Unsubscribe</title>
<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}button{font:inherit;padding:.6em 1.2em}</style></head>
<body><h1>Unsubscribe</h1><p>Stop receiving marketing ${escapeHtml(what)} from us?</p>
<form method="post"><button type="submit">Unsubscribe</button></form></body></html>`;
}

export const handler = httpApi({
  'GET /u/{token}': route({
    params: Params,
    handle: async ({ params }) => {
      if (params.token === PREVIEW_UNSUBSCRIBE_TOKEN) return preview();
      const target = await readUnsubscribeToken(params.token);
      if (!target) return invalid();
      return html(200, confirmPage(target.channel), noStore);
    },
  }),

  // RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click"; the page's button posts too.
  'POST /u/{token}': route({
    params: Params,
    bodyFormat: 'raw',
    maxBodyBytes: 4096,
    handle: async ({ params, sourceIp, userAgent }) => {
      if (params.token === PREVIEW_UNSUBSCRIBE_TOKEN) return preview();
      const target = await readUnsubscribeToken(params.token);
      if (!target) return invalid();
      await unsubscribe(target, { ip: sourceIp, userAgent }, deps);
      return html(200, renderResultPage('thanks', { title: 'You are unsubscribed', message: `You will not receive marketing ${target.channel === 'email' ? 'email' : 'text messages'} from us any more.` }), noStore);
    },
  }),
});
