import { requireEnv } from '../../shared/config.ts';
import { normalizeEmail } from '../../shared/contacts/email.ts';
import { LeadScorer } from '../../shared/contacts/lead-scoring.ts';
import { normalizePhone } from '../../shared/contacts/phone.ts';
import { contactsFromEnv } from '../../shared/contacts/wiring.ts';
import { ValidationError } from '../../shared/errors.ts';
import { httpApi, json, route } from '../../shared/http/api.ts';
import { IdempotencyMarkers } from '../../shared/idempotency.ts';
import { ConversionInput, recordConversion } from '../../shared/responses/conversions.ts';

const contacts = contactsFromEnv();
const scorer = new LeadScorer(requireEnv('TABLE_CONTACTS'), new IdempotencyMarkers(requireEnv('TABLE_IDEMPOTENCY')));

export const handler = httpApi({
  'POST /v1/events': route({
    body: ConversionInput,
    handle: async ({ body }) => {
      let email: string | undefined;
      let phone: string | undefined;
      try {
        email = body.email ? normalizeEmail(body.email) : undefined;
      } catch (error) {
        throw new ValidationError([{ path: 'email', message: (error as Error).message }]);
      }
      try {
        phone = body.phone ? normalizePhone(body.phone).e164 : undefined;
      } catch (error) {
        throw new ValidationError([{ path: 'phone', message: (error as Error).message }]);
      }
      const result = await recordConversion({ ...body, email, phone }, { contacts: contacts.store, timeline: contacts.timeline, scorer }, 'api');
      return json(result.recorded ? 201 : 200, { ...result, duplicate: !result.recorded });
    },
  }),
});
