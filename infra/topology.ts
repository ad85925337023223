import { ContactUpdated } from '../events/contacts.ts';
import { patternFor } from '../events/contract.ts';
import { defineTopology } from './topology-types.ts';

/**
 * Touchloop's topology: the single declaration that the CDK stack and the local runtime both
 * read. Add a function, route, queue, rule, schedule or table here and both engines wire it.
 */
export const topology = defineTopology({
  tables: {
    contacts: {
      description: 'One item per person. Get by id; audience scans read it in parallel segments.',
      partitionKey: { name: 'id', type: 'S' },
    },
    contactLookups: {
      description:
        'Uniqueness items: key "email#<normalised email>" or "phone#<E.164>" → contactId. Written in the same transaction as the contact, conditioned on not existing, so two contacts never hold one address.',
      partitionKey: { name: 'key', type: 'S' },
    },
    interactions: {
      description:
        'Contact timeline: partition contactId, sort key "<occurredAt>#<event id>" (newest first with ScanIndexForward=false). Conditional puts make every source event record once.',
      partitionKey: { name: 'contactId', type: 'S' },
      sortKey: { name: 'sk', type: 'S' },
    },
  },

  queues: {
    interactions: {
      description: 'Domain events that become entries on contacts\u2019 timelines.',
      maxReceiveCount: 5,
    },
  },

  functions: {
    'contacts-api': {
      description: 'Marketer contacts API: upsert, read, timeline.',
      entry: 'functions/contacts-api/handler.ts',
      handler: 'handler',
      timeoutSeconds: 10,
      http: [
        { method: 'POST', path: '/v1/contacts' },
        { method: 'GET', path: '/v1/contacts/{id}' },
        { method: 'GET', path: '/v1/contacts/{id}/timeline' },
      ],
      tables: { contacts: 'readWrite', contactLookups: 'readWrite', interactions: 'read' },
      publishesEvents: true,
    },
    'interaction-recorder': {
      description: 'Writes domain events onto contacts\u2019 timelines, once each.',
      entry: 'functions/interaction-recorder/handler.ts',
      handler: 'handler',
      timeoutSeconds: 30,
      queue: { queue: 'interactions', batchSize: 25, maxBatchingWindowSeconds: 1, maxConcurrency: 5 },
      tables: { interactions: 'write' },
    },
  },

  rules: {
    'contact-activity-to-timeline': {
      description: 'Contact changes are recorded on the timeline.',
      pattern: patternFor(ContactUpdated),
      target: { queue: 'interactions' },
    },
  },
});

export type TouchloopTopology = typeof topology;
