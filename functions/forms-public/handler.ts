import * as z from 'zod';
import { keyedHash, useProjectSecret } from '../../shared/aws/secrets.ts';
import { functionConfig } from '../../shared/config.ts';
import { CONTACT_TABLES, contactsFrom } from '../../shared/contacts/wiring.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { acceptedAnswer, confirmationAnswer, errorAnswer } from '../../shared/forms/answers.ts';
import { confirmLink } from '../../shared/forms/confirmation.ts';
import { renderEmbedHtml } from '../../shared/forms/embed.ts';
import { FormStore } from '../../shared/forms/form-store.ts';
import { formOrigins, ORIGIN_REFUSED, receivePublicSubmission, type PublicSubmissionDeps } from '../../shared/forms/public-submission.ts';
import { html, httpApi, route } from '../../shared/http/api.ts';
import { readFields } from '../../shared/http/fields.ts';
import { preflight, publicAnswer, requestOrigin } from '../../shared/http/public-route.ts';
import { RateLimiter } from '../../shared/rate-limit.ts';

const config = functionConfig('forms-public', {
  tables: { ...CONTACT_TABLES, forms: true, rateLimits: true },
  queues: {},
  publishesEvents: true,
  usesSecret: true,
  linksToPublicApi: true,
  verifiesCaptcha: true,
});
useProjectSecret(config.secretArn);
const forms = new FormStore(config.tables.forms);
const contacts = contactsFrom(config);
const { publicBaseUrl } = config;
const ownOrigin = new URL(publicBaseUrl).origin;
const deps: PublicSubmissionDeps = {
  contacts: contacts.service,
  rateLimiter: new RateLimiter(config.tables.rateLimits),
  publish: contacts.publish,
  hash: keyedHash,
  ownOrigin,
  captcha: config.captcha,
};
const confirmDeps = { service: contacts.service, store: contacts.store, consents: contacts.consents, hash: keyedHash };

const FormParams = z.object({ formId: z.uuid('must be a form id') });
const formOr404 = async (id: string) => (await forms.get(id)) ?? Promise.reject(new NotFoundError('form', id));

export const handler = httpApi({
  'GET /f/{formId}/embed': route({
    params: FormParams,
    handle: async ({ params }) => {
      const form = await formOr404(params.formId);
      return html(200, renderEmbedHtml(form, { actionUrl: `${publicBaseUrl}/f/${form.id}` }), { 'cache-control': 'public, max-age=300' });
    },
  }),

  'OPTIONS /f/{formId}': route({
    params: FormParams,
    handle: async ({ params, headers }) => preflight(requestOrigin(headers), formOrigins(await formOr404(params.formId), ownOrigin), ORIGIN_REFUSED),
  }),

  'POST /f/{formId}': route({
    params: FormParams,
    bodyFormat: 'raw',
    handle: async ({ params, headers, rawBody, sourceIp, userAgent }) => {
      const form = await formOr404(params.formId);
      const origin = requestOrigin(headers);
      const contentType = (headers['content-type'] ?? '').toLowerCase();
      const browser = contentType.startsWith('application/x-www-form-urlencoded');
      const post = { origin, bytes: Buffer.byteLength(rawBody, 'utf8'), fields: () => readFields(rawBody, contentType), meta: { ip: sourceIp, userAgent } };
      return publicAnswer(origin, async (cors) => acceptedAnswer(form, (await receivePublicSubmission(form, post, deps)).confirmationRequired, browser, cors), errorAnswer(form, browser));
    },
  }),

  'GET /f/confirm/{token}': route({
    params: z.object({ token: z.string().max(4096) }),
    handle: async ({ params, sourceIp, userAgent }) => confirmationAnswer(await confirmLink(params.token, { ip: sourceIp, userAgent }, confirmDeps)),
  }),
});
