import { ConsentChanged, ContactErased, ContactUpdated, LeadCaptured } from './contacts.ts';
import type { EventContract } from './contract.ts';

/** Every event contract Touchloop publishes; the contract test keeps each one backward compatible. */
export const allContracts: EventContract[] = [ContactUpdated, LeadCaptured, ConsentChanged, ContactErased];
