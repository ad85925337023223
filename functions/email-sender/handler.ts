import { emailProviderFromEnv } from '../../shared/campaigns/providers/index.ts';
import { senderHandler } from '../../shared/campaigns/sender-handler.ts';

/** Email sends through SES (see shared/campaigns/sender.ts for the exactly-once rules). */
export const handler = senderHandler('email', async () => emailProviderFromEnv());
