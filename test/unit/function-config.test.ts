import { afterEach, describe, expect, test } from 'vitest';
import { topology } from '../../infra/topology.ts';
import { queueEnvVar, tableEnvVar } from '../../infra/topology-types.ts';
import { functionConfig, intSetting } from '../../shared/config.ts';
import { CONTACT_TABLES } from '../../shared/contacts/wiring.ts';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

/** Exactly the variables the topology gives a function's tables and queues, plus the shared ones its entry's flags need. */
function environmentOf(name: keyof typeof topology.functions): Record<string, string> {
  const def = topology.functions[name];
  const queues = [...(def.sendsTo ?? []), ...(def.queue ? [def.queue.queue] : [])];
  return {
    ...Object.fromEntries(Object.keys(def.tables ?? {}).map((t) => [tableEnvVar(t), `table-${t}`])),
    ...Object.fromEntries(queues.map((q) => [queueEnvVar(q), `https://sqs.example/${q}`])),
    EVENT_BUS_NAME: 'bus',
    TOUCHLOOP_SECRET_ARN: 'arn:secret',
    EMAIL_FROM: 'Touchloop <no-reply@example.com>',
    PUBLIC_BASE_URL: 'https://api.example',
  };
}

const setEnvironment = (env: Record<string, string>) => {
  for (const key of Object.keys(process.env)) if (/^(TABLE_|QUEUE_URL_|EVENT_BUS_NAME|TOUCHLOOP_SECRET_ARN|EMAIL_FROM|SES_|PUBLIC_BASE_URL|SEND_|SENDER_)/.test(key)) delete process.env[key];
  Object.assign(process.env, env);
};

const emailSender = () =>
  functionConfig('email-sender', {
    tables: { ...CONTACT_TABLES, campaigns: true, sends: true, templates: true },
    queues: { emailSends: true },
    publishesEvents: true,
    usesSecret: true,
    sendsEmail: true,
    linksToPublicApi: true,
  });

describe('functionConfig', () => {
  test("lists exactly the tables and queues of the function's topology entry, read from the variables both engines set", () => {
    // Prepare
    setEnvironment(environmentOf('email-sender'));
    // Act
    const config = emailSender();
    // Assess
    expect(Object.keys(config.tables).sort()).toEqual(Object.keys(topology.functions['email-sender'].tables ?? {}).sort());
    expect(config.tables.contactLookups).toBe('table-contactLookups');
    expect(config.queues).toEqual({ emailSends: 'https://sqs.example/emailSends' });
    expect(config).toMatchObject({ eventBus: 'bus', secretArn: 'arn:secret', publicBaseUrl: 'https://api.example', email: { from: 'Touchloop <no-reply@example.com>', configurationSet: undefined } });
  });

  test('a consumer and producer of queues gets the URLs of both', () => {
    setEnvironment(environmentOf('campaign-launcher'));
    const config = functionConfig('campaign-launcher', {
      tables: { campaigns: true, segments: true, segmentStats: true, sends: true, contacts: true, activity: true, models: true },
      queues: { launches: true, audienceScan: true, emailSends: true, smsSends: true },
    });
    expect(Object.keys(config.queues).sort()).toEqual(['audienceScan', 'emailSends', 'launches', 'smsSends']);
  });

  test.each(['TABLE_CONTACT_LOOKUPS', 'QUEUE_URL_EMAIL_SENDS', 'EVENT_BUS_NAME', 'TOUCHLOOP_SECRET_ARN', 'EMAIL_FROM', 'PUBLIC_BASE_URL'])('fails at once, naming %s, when it is missing', (variable) => {
    // Prepare
    const env = environmentOf('email-sender');
    delete env[variable];
    setEnvironment(env);
    // Act / Assess
    expect(emailSender).toThrow(`Missing required environment variable ${variable}`);
  });

  test('a setting out of its range fails naming the variable; an unset one takes its default', () => {
    process.env.SOFT_BOUNCE_LIMIT = '0';
    expect(() => intSetting('SOFT_BOUNCE_LIMIT', 3, 1, 100)).toThrow('SOFT_BOUNCE_LIMIT must be a whole number from 1 to 100, not "0"');
    delete process.env.SOFT_BOUNCE_LIMIT;
    expect(intSetting('SOFT_BOUNCE_LIMIT', 3, 1, 100)).toBe(3);
  });

  test('the spec is checked against the topology entry at compile time', () => {
    setEnvironment(environmentOf('sites-api'));
    const config = functionConfig('sites-api', { tables: { sites: true }, queues: {}, linksToPublicApi: true });
    // @ts-expect-error sites-api does not declare the sends table
    expect(config.tables.sends).toBeUndefined();
    // @ts-expect-error sites-api does not publish events, so it has no bus
    expect(config.eventBus).toBeUndefined();
    // @ts-expect-error a table the entry does not declare
    expect(() => functionConfig('sites-api', { tables: { sites: true, sends: true }, queues: {}, linksToPublicApi: true })).toThrow('TABLE_SENDS');
    // @ts-expect-error a declared capability left out
    functionConfig('sites-api', { tables: { sites: true }, queues: {} });
    // @ts-expect-error a declared table left out
    functionConfig('sites-api', { tables: {}, queues: {}, linksToPublicApi: true });
  });
});
