import * as z from 'zod';
import { CampaignStore } from '../../shared/campaigns/campaign-store.ts';
import { functionConfig } from '../../shared/config.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { renderResultPage } from '../../shared/forms/embed.ts';
import { html, httpApi, route } from '../../shared/http/api.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { logger } from '../../shared/logger.ts';
import { recordClick, recordOpen, type EngagementDeps } from '../../shared/responses/engagement.ts';
import { PIXEL_GIF, readClickToken, readOpenToken, signClickId, withClickId } from '../../shared/links/tracking.ts';
import { SiteStore } from '../../shared/sites/site-store.ts';

const config = functionConfig('tracking', { tables: { ...CONTACT_TABLES, idempotency: true, sites: true, campaigns: true }, queues: {}, publishesEvents: true, usesSecret: true });
useProjectSecret(config.secretArn);
const contacts = contactsFrom(config);
const markers = new IdempotencyMarkers(config.tables.idempotency);
const engagement: EngagementDeps = { timeline: contacts.timeline, markers, scorer: new LeadScorer(config.tables.contacts, markers), campaigns: new CampaignStore(config.tables.campaigns) };
const sites = new SiteStore(config.tables.sites);
const Params = z.object({ token: z.string().max(8192) });
const noStore = { 'cache-control': 'no-store, private' };

/** Recording must not stand between the person and the page they clicked: failures are logged, the redirect happens. */
async function recordQuietly(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    logger.error('tracking record failed', { error: error as Error });
  }
}

export const handler = httpApi({
  'GET /t/c/{token}': route({
    params: Params,
    handle: async ({ params, userAgent }) => {
      const target = await readClickToken(params.token);
      // A tampered token never redirects anywhere (no open redirect).
      if (!target) return html(400, renderResultPage('error', { title: 'This link is not valid', message: 'The link you followed is broken or was changed.' }), noStore);
      await recordQuietly(() => recordClick(target, { userAgent }, engagement));
      // Links into a registered site carry a signed click id, so its thank-you page can report the conversion.
      let location = target.url;
      try {
        location = withClickId(target.url, await signClickId(target), await sites.allOrigins());
      } catch (error) {
        logger.error('click id not added', { error: error as Error });
      }
      return { status: 302, headers: { location, ...noStore }, rawBody: '' };
    },
  }),

  'GET /t/o/{token}': route({
    params: Params,
    handle: async ({ params }) => {
      const target = await readOpenToken(params.token);
      if (target) await recordQuietly(() => recordOpen(target, engagement));
      // The pixel answers the same either way, so nothing can be learnt from it.
      return { status: 200, headers: { 'content-type': 'image/gif', ...noStore }, rawBody: PIXEL_GIF.toString('base64'), isBase64Encoded: true };
    },
  }),
});
