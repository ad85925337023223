import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, test } from 'vitest';
import { topology } from '../../infra/topology.ts';
import { queueEnvVar, queueVisibilityTimeoutSeconds, tableEnvVar, withFunctionEnvironment, withScheduleOverrides } from '../../infra/topology-types.ts';
import { bucketEnvVar } from '../../events/wiring.ts';
import { synthTemplate } from '../helpers/stack.ts';

const { template } = synthTemplate();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
const lambdas = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && (r.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME);
const lambdaFor = (name: string) => {
  const found = lambdas.find(([, r]) => (r.Properties.Environment as { Variables: Record<string, string> }).Variables.POWERTOOLS_SERVICE_NAME === name);
  if (!found) throw new Error(`no Lambda for ${name}`);
  return { logicalId: found[0], props: found[1].Properties };
};

/** The DynamoDB actions a function's role has on one table (found through the table variable CDK gives the function). */
const tableActions = (name: string, table: string): string[] => {
  const { props } = lambdaFor(name);
  const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
  const tableRef = (env[tableEnvVar(table)] as { Ref?: string } | undefined)?.Ref;
  if (!tableRef) return [];
  const roleId = (props.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter((r) => (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && ((r.Properties.Roles ?? []) as Array<{ Ref: string }>).some((role) => role.Ref === roleId))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement)
    .filter((s) => JSON.stringify(s.Resource).includes(`"${tableRef}"`))
    .flatMap((s) => [s.Action].flat());
};


describe('functions', () => {
  test('source maps are off by default (no --enable-source-maps, which slows every cold start) and on with sourceMaps', () => {
    for (const [name] of Object.entries(topology.functions)) {
      const env = (lambdaFor(name).props.Environment as { Variables: Record<string, string> }).Variables;
      expect(env.NODE_OPTIONS, name).toBeUndefined();
    }
    const mapped = Object.values(synthTemplate({ sourceMaps: true }).template.findResources('AWS::Lambda::Function'))
      .map((r) => (r.Properties as { Environment?: { Variables?: Record<string, string> } }).Environment?.Variables ?? {})
      .filter((v) => v.POWERTOOLS_SERVICE_NAME);
    expect(mapped).toHaveLength(Object.keys(topology.functions).length);
    for (const variables of mapped) expect(variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  test('one Lambda per topology function, Node.js 22 on arm64, JSON logs, tracing, with a log retention', () => {
    expect(lambdas.map(([, r]) => (r.Properties.Environment as { Variables: Record<string, string> }).Variables.POWERTOOLS_SERVICE_NAME).sort()).toEqual(
      Object.keys(topology.functions).sort(),
    );
    for (const [name, def] of Object.entries(topology.functions)) {
      const { props } = lambdaFor(name);
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: `index.${def.handler}`,
        Timeout: def.timeoutSeconds,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON' },
      });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('each handler the topology names is exported by its entry module and loads with the environment CDK gives it', async () => {
    for (const [name, def] of Object.entries(topology.functions)) {
      const variables = (lambdaFor(name).props.Environment as { Variables: Record<string, unknown> }).Variables;
      // Tokens (table names, queue URLs) become placeholders; what matters is that every variable the module needs is set.
      const saved = { ...process.env };
      for (const [k, v] of Object.entries(variables)) process.env[k] = typeof v === 'string' ? v : k.endsWith('_URL') ? 'https://placeholder.example' : `placeholder-${k}`;
      try {
        const module = (await import(`../../${def.entry}`)) as Record<string, unknown>;
        expect(typeof module[def.handler], `${def.entry} exports ${def.handler}`).toBe('function');
      } finally {
        process.env = saved;
      }
    }
  });

  test('grants are least-privilege: a function gets exactly the tables it declares, with its access', () => {
    // A role's statements: its inline policy and, when that outgrows IAM's size limit, the overflow managed policies CDK attaches.
    const policies = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy');
    for (const [name, def] of Object.entries(topology.functions)) {
      const { logicalId, props } = lambdaFor(name);
      const roleId = ((props.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'])[0];
      const statements = policies
        .filter((p) => ((p.Properties.Roles ?? []) as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
        .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement);
      // A table-stream consumer also reads that table's stream (its event source mapping), which is not table access.
      const streamRead = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'];
      const dynamoActions = new Set(statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('dynamodb:') && !(def.stream && streamRead.includes(a))));
      const declared = Object.values(def.tables ?? {});
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(env).filter((k) => k.startsWith('TABLE_')).sort(), `${logicalId} table variables`).toEqual(
        Object.keys(def.tables ?? {}).map(tableEnvVar).sort(),
      );
      if (declared.length === 0) expect(dynamoActions.size).toBe(0);
      if (declared.every((a) => a === 'read')) expect([...dynamoActions].some((a) => /PutItem|UpdateItem|DeleteItem|BatchWrite/.test(a))).toBe(false);
      if (declared.every((a) => a === 'write')) expect([...dynamoActions].some((a) => /GetItem|Query|Scan/.test(a))).toBe(false);
      const publishes = statements.some((s) => [s.Action].flat().includes('events:PutEvents'));
      expect(publishes, `${name} events:PutEvents`).toBe(def.publishesEvents === true);
    }
  });
});

describe('queues', () => {
  test('every queue has a DLQ with the topology maxReceiveCount and a visibility timeout ≥ 6× its consumer timeout', () => {
    for (const [name, def] of Object.entries(topology.queues)) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `Touchloop-${name}`,
        VisibilityTimeout: queueVisibilityTimeoutSeconds(topology, name),
        RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: def.maxReceiveCount },
        SqsManagedSseEnabled: true,
      });
      const consumers = Object.values(topology.functions).filter((f) => f.queue?.queue === name);
      for (const consumer of consumers) expect(queueVisibilityTimeoutSeconds(topology, name)).toBeGreaterThanOrEqual(6 * consumer.timeoutSeconds);
    }
  });

  test('every non-DLQ queue in the template has a redrive policy; every DLQ has an alarm', () => {
    const queues = Object.values(resources).filter((r) => r.Type === 'AWS::SQS::Queue');
    const mainQueues = queues.filter((q) => !String(q.Properties.QueueName).endsWith('-dlq'));
    for (const q of mainQueues) expect(q.Properties.RedrivePolicy, String(q.Properties.QueueName)).toBeDefined();
    const dlqCount = queues.length - mainQueues.length;
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm')).toHaveLength(dlqCount);
  });

  test('queue consumers report partial batch failures with the topology batch settings', () => {
    for (const [name, def] of Object.entries(topology.functions)) {
      if (!def.queue) continue;
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: lambdaFor(name).logicalId },
        BatchSize: def.queue.batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ...(def.queue.maxConcurrency ? { ScalingConfig: { MaximumConcurrency: def.queue.maxConcurrency } } : {}),
      });
    }
  });
});

describe('events', () => {
  test('every rule target has a DLQ and a retry policy', () => {
    const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rules).toHaveLength(Object.keys(topology.rules).length);
    for (const rule of rules) {
      for (const target of rule.Properties.Targets as Array<Record<string, unknown>>) {
        expect(target.DeadLetterConfig).toBeDefined();
        expect(target.RetryPolicy).toMatchObject({ MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) });
      }
    }
  });
});

describe('tables', () => {
  test('on-demand with point-in-time recovery, retained by default', () => {
    const tables = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(Object.keys(topology.tables).length);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });
});

describe('API authentication', () => {
  test('every non-public route uses the JWT authorizer; public ones have none', () => {
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const declared = Object.values(topology.functions).flatMap((f) => f.http ?? []);
    expect(routes).toHaveLength(declared.length);
    for (const route of declared) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        AuthorizationType: route.public ? 'NONE' : 'JWT',
      });
    }
  });

  test('by default a Cognito user pool backs the authorizer', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      // The API client and the console's client (console.test.ts names them).
      JwtConfiguration: { Audience: [Match.anyValue(), Match.anyValue()], Issuer: Match.anyValue() },
    });
  });

  test('one invoke permission per HTTP function, for this API\'s routes, not one per route (73 routes would spend 73 of CloudFormation\'s 500 resources)', () => {
    const permissions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Permission' && (r.Properties.Principal as string) === 'apigateway.amazonaws.com');
    const apiId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api')![0];
    const integrated = new Set(Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Integration').map((r) => JSON.stringify(r.Properties.IntegrationUri)));
    expect(integrated.size).toBe(Object.values(topology.functions).filter((f) => f.http?.length).length);
    expect(permissions).toHaveLength(integrated.size);
    for (const p of permissions) {
      expect(integrated.has(JSON.stringify(p.Properties.FunctionName))).toBe(true);
      expect(JSON.stringify(p.Properties.SourceArn)).toContain(`{"Ref":"${apiId}"},"/*/*/*"`);
    }
  });

  test('the API client signs in with InitiateAuth only: no OAuth flow, so the hosted sign-in pages cannot send its tokens anywhere', () => {
    const [, client] = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::Cognito::UserPoolClient' && id.startsWith('MarketersApiClient'))!;
    expect(client.Properties).toMatchObject({ ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'], GenerateSecret: false, AllowedOAuthFlowsUserPoolClient: false });
    expect(client.Properties.AllowedOAuthFlows).toBeUndefined();
    expect(client.Properties.CallbackURLs).toBeUndefined();
  });

  test('the user pool: strong passwords, TOTP MFA (optional unless marketerMfa is required), no SMS role', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true }) },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
    });
    synthTemplate({ marketerMfa: 'required' }).template.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON' });
  });

  test('the $default stage writes access logs to a 30-day log group, naming the route template, never the path (it carries tokens)', () => {
    const stages = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    expect(stages[0]!.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
    const settings = stages[0]!.Properties.AccessLogSettings as { DestinationArn: { 'Fn::GetAtt': string[] }; Format: string };
    expect(resources[settings.DestinationArn['Fn::GetAtt'][0]!]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
    expect(settings.Format).not.toMatch(/\$context\.(path|resourcePath)|requestOverride|\$input/);
  });

  test('bring your own IdP: issuer and audience from props, no user pool', () => {
    const { template: own } = synthTemplate({ jwtIssuer: 'https://idp.example.com/', jwtAudience: ['touchloop'] });
    own.resourceCountIs('AWS::Cognito::UserPool', 0);
    own.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Audience: ['touchloop'], Issuer: 'https://idp.example.com/' },
    });
  });
});

describe('contacts and lead capture resources', () => {
  const statementsOf = (name: string) => {
    const { props } = lambdaFor(name);
    const roleId = (props.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    return Object.values(resources)
      .filter((r) => (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && ((r.Properties.Roles ?? []) as Array<{ Ref: string }>).some((role) => role.Ref === roleId))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[] }> }).Statement)
      .flatMap((s) => [s.Action].flat());
  };

  test('rate-limit counters, idempotency markers, behaviour-counter months and import jobs expire by TTL', () => {
    for (const name of ['rateLimits', 'idempotency', 'activity', 'imports']) {
      expect(topology.tables[name as keyof typeof topology.tables].timeToLiveAttribute).toBe('expiresAt');
    }
    const withTtl = Object.values(resources).filter((r) => r.Type === 'AWS::DynamoDB::Table' && r.Properties.TimeToLiveSpecification);
    expect(withTtl).toHaveLength(4);
    for (const table of withTtl) expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  test('only functions that declare it read the project secret or send email', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    for (const [name, def] of Object.entries(topology.functions)) {
      const actions = statementsOf(name);
      expect(actions.includes('secretsmanager:GetSecretValue'), `${name} secret`).toBe(def.usesSecret === true);
      expect(actions.includes('ses:SendEmail'), `${name} ses`).toBe(def.sendsEmail === true);
      const env = (lambdaFor(name).props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect('TOUCHLOOP_SECRET_ARN' in env, `${name} TOUCHLOOP_SECRET_ARN`).toBe(def.usesSecret === true);
      expect('EMAIL_FROM' in env, `${name} EMAIL_FROM`).toBe(def.sendsEmail === true);
      expect('PUBLIC_BASE_URL' in env, `${name} PUBLIC_BASE_URL`).toBe(def.linksToPublicApi === true);
    }
  });

  test('form, confirmation and embed routes are public; everything under /v1 needs the JWT', () => {
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    for (const route of routes) {
      const key = String(route.Properties.RouteKey);
      expect(route.Properties.AuthorizationType, key).toBe(key.split(' ')[1]!.startsWith('/v1/') ? 'JWT' : 'NONE');
    }
    expect(routes.map((r) => r.Properties.RouteKey)).toEqual(expect.arrayContaining(['POST /f/{formId}', 'OPTIONS /f/{formId}', 'GET /f/{formId}/embed', 'GET /f/confirm/{token}']));
  });
});

test('a configured captcha secret is readable only by the function that verifies captchas', () => {
  const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:captcha-AbCdEf';
  const { template: withCaptcha } = synthTemplate({ captchaSecretArn: arn });
  const fns = Object.values(withCaptcha.toJSON().Resources as Record<string, { Type: string; Properties: { Environment?: { Variables?: Record<string, unknown> } } }>).filter(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.CAPTCHA_SECRET_ARN,
  );
  expect(fns.map((f) => f.Properties.Environment!.Variables!.POWERTOOLS_SERVICE_NAME)).toEqual(
    Object.entries(topology.functions).filter(([, d]) => d.verifiesCaptcha).map(([n]) => n),
  );
});

describe('campaign resources', () => {
  test('EventBridge Scheduler: a schedule group and a role the scheduler assumes, allowed only to send to the launches and journey tasks queues', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'Touchloop-campaigns' });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })] },
    });
    const env = (lambdaFor('campaigns-api').props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['SCHEDULE_GROUP', 'SCHEDULER_ROLE_ARN', 'LAUNCH_QUEUE_ARN']));
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement);
    const scheduling = statements.filter((s) => [s.Action].flat().includes('scheduler:CreateSchedule'));
    // One statement per function that manages schedules: campaigns-api (launches) and journeys-api (segment-audience runs).
    expect(scheduling).toHaveLength(2);
    for (const statement of scheduling) expect(JSON.stringify(statement.Resource)).toContain('schedule/Touchloop-campaigns/*');
    expect(statements.some((s) => [s.Action].flat().includes('iam:PassRole'))).toBe(true);
    // The scheduler's role sends to exactly the two target queues.
    const schedulerRole = Object.entries(resources).find(([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'))![0];
    const roleStatements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(schedulerRole))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement);
    const targets = roleStatements.filter((s) => [s.Action].flat().includes('sqs:SendMessage')).map((s) => JSON.stringify(s.Resource));
    expect(targets).toHaveLength(2);
    expect(targets.some((t) => t.includes('Queuelaunches'))).toBe(true);
    expect(targets.some((t) => t.includes('QueuejourneyTasks'))).toBe(true);
  });

  test('a queue per channel; the senders consume them with a maximum concurrency and know their own queue URL', () => {
    for (const [fn, queue] of [
      ['email-sender', 'emailSends'],
      ['sms-sender', 'smsSends'],
    ] as const) {
      template.hasResourceProperties('AWS::SQS::Queue', { QueueName: `Touchloop-${queue}` });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: lambdaFor(fn).logicalId },
        ScalingConfig: { MaximumConcurrency: topology.functions[fn].queue!.maxConcurrency },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      const env = (lambdaFor(fn).props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env).toHaveProperty(queue === 'emailSends' ? 'QUEUE_URL_EMAIL_SENDS' : 'QUEUE_URL_SMS_SENDS');
    }
  });

  test('SES configuration set sends every event type to the default event bus', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: Match.objectLike({
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(['SEND', 'BOUNCE', 'COMPLAINT', 'DELIVERY', 'OPEN', 'CLICK']),
        EventBridgeDestination: { EventBusArn: Match.anyValue() },
      }),
    });
  });

  test('only functions that declare sendsSms may send SMS; with Twilio they read the credentials secret instead', () => {
    const smsActions = Object.entries(topology.functions).filter(([name]) => {
      const { props } = lambdaFor(name);
      const roleId = (props.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
      return Object.values(resources).some(
        (r) =>
          r.Type === 'AWS::IAM::Policy' &&
          (r.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId) &&
          JSON.stringify(r.Properties.PolicyDocument).includes('sms-voice:SendTextMessage'),
      );
    });
    expect(smsActions.map(([n]) => n).sort()).toEqual(Object.entries(topology.functions).filter(([, d]) => d.sendsSms).map(([n]) => n).sort());
    expect(smsActions.length).toBeGreaterThan(0);
    const { template: twilio } = synthTemplate({ sms: { provider: 'twilio', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf' } });
    expect(JSON.stringify(twilio.toJSON())).not.toContain('sms-voice:SendTextMessage');
    expect(JSON.stringify(twilio.toJSON())).toContain('TWILIO_SECRET_ARN');
  });

  test('inbound SMS: an SNS topic (for the two-way number) feeds the smsInbound queue', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'Touchloop-sms-inbound' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs' });
  });

  test('the dispatcher runs every minute through EventBridge Scheduler with a DLQ and retries', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({ DeadLetterConfig: { Arn: Match.anyValue() }, RetryPolicy: Match.objectLike({ MaximumRetryAttempts: Match.anyValue() }) }),
    });
  });

  test('the nightly attribution run: 02:00 UTC by default, retimed per deployment; unknown names and bad expressions are refused', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'Touchloop-nightly-attribution', ScheduleExpression: 'cron(0 2 * * ? *)', ScheduleExpressionTimezone: 'UTC' });
    const retimed = synthTemplate({ topology: withScheduleOverrides(topology, { 'nightly-attribution': { expression: 'cron(30 3 * * ? *)', timezone: 'Europe/Berlin' } }) }).template;
    retimed.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'Touchloop-nightly-attribution', ScheduleExpression: 'cron(30 3 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin' });
    expect(withScheduleOverrides(topology, { 'nightly-attribution': { expression: undefined } }).functions['attribution-nightly'].schedules).toEqual(topology.functions['attribution-nightly'].schedules);
    expect(() => withScheduleOverrides(topology, { nightly: { expression: 'cron(0 3 * * ? *)' } })).toThrow(/no schedule named nightly/);
    expect(() => withScheduleOverrides(topology, { 'nightly-attribution': { expression: '0 3 * * *' } })).toThrow(/not a cron/);
  });

  test('deployment settings reach the one function they concern (the soft-bounce policy on the response recorder)', () => {
    const configured = synthTemplate({ topology: withFunctionEnvironment(topology, 'response-recorder', { SOFT_BOUNCE_LIMIT: '5', SOFT_BOUNCE_WINDOW_DAYS: undefined }) }).template;
    const resources = Object.values(configured.toJSON().Resources as Record<string, { Type: string; Properties: { Environment?: { Variables?: Record<string, string> } } }>);
    const variables = (service: string) => resources.find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service)!.Properties.Environment!.Variables!;
    expect(variables('response-recorder').SOFT_BOUNCE_LIMIT).toBe('5');
    expect(variables('response-recorder').SOFT_BOUNCE_WINDOW_DAYS).toBeUndefined();
    expect(variables('tracking').SOFT_BOUNCE_LIMIT).toBeUndefined();
    expect(withFunctionEnvironment(topology, 'response-recorder', { SOFT_BOUNCE_LIMIT: undefined })).toBe(topology);
    expect(() => withFunctionEnvironment(topology, 'nope', { X: '1' })).toThrow(/no function named nope/);
  });
});

describe('import resources', () => {
  const bucketId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::S3::Bucket' && ((r.Properties.Tags ?? []) as Array<{ Key: string; Value: string }>).some((tag) => tag.Key === 'touchloop:bucket' && tag.Value === 'imports'))![0];
  const policiesOf = (name: string) => {
    const roleId = (lambdaFor(name).props.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    return Object.values(resources)
      // CDK moves statements beyond the inline policy's size limit into overflow managed policies on the same role.
      .filter((r) => (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && ((r.Properties.Roles ?? []) as Array<{ Ref: string }>).some((role) => role.Ref === roleId))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement);
  };

  test('the imports bucket: public access blocked, encrypted, TLS only, objects expire, retained by default', () => {
    expect(resources[bucketId]).toMatchObject({
      Properties: {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: topology.buckets!.imports!.expireAfterDays, Status: 'Enabled' })] },
      },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('a new upload is announced on the importUploads queue, whose consumer is the splitter; chunks go to the workers', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId },
      NotificationConfiguration: {
        QueueConfigurations: [{ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } }, QueueArn: Match.anyValue() }],
      },
    });
    expect(topology.functions['import-splitter'].queue?.queue).toBe('importUploads');
    expect(topology.functions['import-worker'].queue?.queue).toBe('importChunks');
  });

  test('functions get object reads and writes in the buckets they declare, nothing on the buckets themselves, and their names', () => {
    const idOf = (bucket: string) => Object.entries(resources).find(([, r]) => r.Type === 'AWS::S3::Bucket' && ((r.Properties.Tags ?? []) as Array<{ Key: string; Value: string }>).some((tag) => tag.Key === 'touchloop:bucket' && tag.Value === bucket))![0];
    const action = (access: string) => (access === 'read' ? 's3:GetObject' : access === 'write' ? 's3:PutObject' : ['s3:GetObject', 's3:PutObject']);
    let granted = 0;
    for (const [name, def] of Object.entries(topology.functions)) {
      const s3 = policiesOf(name).filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
      const env = (lambdaFor(name).props.Environment as { Variables: Record<string, unknown> }).Variables;
      const declared = Object.entries((def as { buckets?: Record<string, string> }).buckets ?? {});
      for (const bucket of Object.keys(topology.buckets!)) {
        const access = declared.find(([b]) => b === bucket)?.[1];
        expect(env[bucketEnvVar(bucket)], `${name} ${bucket}`).toEqual(access ? { Ref: idOf(bucket) } : undefined);
      }
      expect(s3, name).toEqual(declared.map(([bucket, access]) => ({ Effect: 'Allow', Action: action(access), Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [idOf(bucket), 'Arn'] }, '/*']] } })));
      granted += declared.length;
    }
    expect(granted).toBeGreaterThanOrEqual(4); // the imports API, splitter and workers; the learning writers and reader
  });
});

describe('the event stream', () => {
  const streamConsumers = Object.entries(topology.functions).filter(([, def]) => def.stream);
  const logicalIdOf = (type: string, predicate: (props: Record<string, unknown>) => boolean) => Object.entries(resources).find(([, r]) => r.Type === type && predicate(r.Properties))?.[0];

  test('a table some function consumes has a NEW_IMAGE stream; the others have none', () => {
    // The timeline's two readers (a DynamoDB stream serves at most two per shard): the event stream and the journeys.
    expect(streamConsumers.map(([name]) => name).sort()).toEqual(['journey-events', 'stream-publisher']);
    const consumed = new Set<string>(streamConsumers.map(([, def]) => def.stream!.table));
    for (const [, r] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table')) {
      const table = (r.Properties.Tags as Array<{ Key: string; Value: string }>).find((t) => t.Key === 'touchloop:table')!.Value;
      expect(r.Properties.StreamSpecification, table).toEqual(consumed.has(table) ? { StreamViewType: 'NEW_IMAGE' } : undefined);
    }
  });

  test('the consumer reads the stream with the topology settings: batch item failures, bisect on error, retries, an alarmed on-failure DLQ', () => {
    for (const [name, def] of streamConsumers) {
      const tableId = logicalIdOf('AWS::DynamoDB::Table', (p) => (p.Tags as Array<{ Key: string; Value: string }>).some((t) => t.Key === 'touchloop:table' && t.Value === def.stream!.table))!;
      const dlqId = logicalIdOf('AWS::SQS::Queue', (p) => p.QueueName === `Touchloop-${name}-stream-dlq`)!;
      expect(dlqId).toBeDefined();
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: lambdaFor(name).logicalId },
        EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
        StartingPosition: def.stream!.startingPosition,
        BatchSize: def.stream!.batchSize,
        MaximumBatchingWindowInSeconds: def.stream!.maxBatchingWindowSeconds,
        MaximumRetryAttempts: def.stream!.retryAttempts,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
      });
      template.hasResourceProperties('AWS::SQS::Queue', { QueueName: `Touchloop-${name}-stream-dlq`, SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }] });
    }
  });

  test('Firehose (encrypted, Direct PUT) delivers gzip NDJSON into a private, encrypted, TLS-only bucket, one prefix per day, errors apart', () => {
    template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 1);
    // The stream's bucket is the one its delivery stream writes to.
    const stream = Object.values(resources).find((r) => r.Type === 'AWS::KinesisFirehose::DeliveryStream')!;
    const bucketId = (stream.Properties.ExtendedS3DestinationConfiguration as { BucketARN: { 'Fn::GetAtt': string[] } }).BucketARN['Fn::GetAtt'][0]!;
    expect(resources[bucketId]?.Type).toBe('AWS::S3::Bucket');
    expect(JSON.stringify(resources[bucketId]!.Properties.Tags ?? [])).not.toContain('touchloop:bucket');
    expect(resources[bucketId]).toMatchObject({
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamName: 'Touchloop-events',
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BucketARN: { 'Fn::GetAtt': [bucketId, 'Arn'] },
        Prefix: 'events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/',
        ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/',
        CompressionFormat: 'GZIP',
        BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 64 },
      }),
    });
  });

  test('only the publisher may put records, to that one delivery stream, and it is told its name', () => {
    const streamId = logicalIdOf('AWS::KinesisFirehose::DeliveryStream', () => true)!;
    const puts = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes('firehose:PutRecord'));
    expect(puts.map(([id]) => id)).toEqual([expect.stringMatching(/^FnstreampublisherRoleDefaultPolicy/)]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [streamId, 'Arn'] } }]) },
    });
    expect((lambdaFor('stream-publisher').props.Environment as { Variables: Record<string, unknown> }).Variables.EVENT_STREAM_NAME).toEqual({ Ref: streamId });
  });

  test('a deployment that names its own delivery stream gets no bucket or stream of ours, and the grant names its stream', () => {
    const own = synthTemplate({ eventStreamName: 'acme-marketing-events', console: false }).template;
    own.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 0);
    // Only the topology's buckets (imports, learning) remain.
    expect(Object.values(own.findResources('AWS::S3::Bucket')).map((r) => JSON.stringify((r.Properties as { Tags?: unknown }).Tags))).toEqual([expect.stringContaining('touchloop:bucket'), expect.stringContaining('touchloop:bucket')]);
    const grants = Object.values(own.findResources('AWS::IAM::Policy'))
      .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Array<{ Action: unknown; Resource: unknown }> } }).PolicyDocument.Statement)
      .filter((st) => JSON.stringify(st.Action).includes('firehose:'));
    expect(grants).toHaveLength(1);
    expect(grants[0]!.Action).toEqual(['firehose:PutRecord', 'firehose:PutRecordBatch']);
    expect(JSON.stringify(grants[0]!.Resource)).toMatch(/:firehose:us-east-1:123456789012:deliverystream\/acme-marketing-events"/);
    own.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'stream-publisher', EVENT_STREAM_NAME: 'acme-marketing-events' }) } });
  });
});

describe('transactional messages', () => {
  test('POST /v1/messages and GET /v1/messages/{id} need the JWT and reach the messages-api function', () => {
    const { logicalId } = lambdaFor('messages-api');
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && String(r.Properties.RouteKey).startsWith('/v1/messages', String(r.Properties.RouteKey).indexOf(' ') + 1));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(['GET /v1/messages/{id}', 'POST /v1/messages']);
    for (const route of routes) {
      expect(route.Properties.AuthorizationType).toBe('JWT');
      const integrationId = String((route.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((p) => (typeof p === 'object' && p && 'Ref' in p ? (p as { Ref: string }).Ref : '')).join(''));
      expect(JSON.stringify(resources[integrationId]?.Properties.IntegrationUri)).toContain(logicalId);
    }
  });

  test('messages-api: sends email and SMS, reads templates, reads and writes send records, and has no campaign, segment or idempotency table', () => {
    const def = topology.functions['messages-api'];
    expect(def).toMatchObject({ timeoutSeconds: 15, sendsEmail: true, sendsSms: true, usesSecret: true });
    expect(def.timeoutSeconds).toBeLessThan(29);
    const sends = tableActions('messages-api', 'sends');
    expect(sends).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem']));
    const templates = tableActions('messages-api', 'templates');
    expect(templates).toContain('dynamodb:GetItem');
    expect(templates.some((a) => /PutItem|UpdateItem|DeleteItem|BatchWrite/.test(a))).toBe(false);
    const env = (lambdaFor('messages-api').props.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const table of ['campaigns', 'segments', 'idempotency', 'reports']) expect(tableEnvVar(table) in env, table).toBe(false);
  });

  test('the response recorder and the Twilio webhooks may update send records (delivery events of transactional messages) but not read them', () => {
    for (const name of ['response-recorder', 'twilio-webhooks']) {
      const actions = tableActions(name, 'sends');
      expect(actions, name).toContain('dynamodb:UpdateItem');
      expect(actions.some((a) => /GetItem|Query|Scan/.test(a)), name).toBe(false);
    }
  });
});

describe('journeys', () => {
  const tableDef = (name: string) => Object.values(resources).find((r) => r.Type === 'AWS::DynamoDB::Table' && (r.Properties.Tags as Array<{ Key: string; Value: string }>).some((t) => t.Key === 'touchloop:table' && t.Value === name))!;

  test('journeyStates: partition contactId, sort key sk, due and journey indexes holding keys only (a step never rewrites an index copy)', () => {
    const props = tableDef('journeyStates').Properties;
    expect(props.KeySchema).toEqual([{ AttributeName: 'contactId', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
    const indexes = (props.GlobalSecondaryIndexes as Array<{ IndexName: string; KeySchema: unknown; Projection: { ProjectionType: string } }>).map((i) => [i.IndexName, i.KeySchema, i.Projection.ProjectionType]);
    expect(indexes).toEqual([
      ['byDue', [{ AttributeName: 'dueShard', KeyType: 'HASH' }, { AttributeName: 'dueAt', KeyType: 'RANGE' }], 'KEYS_ONLY'],
      ['byJourney', [{ AttributeName: 'journeyEntry', KeyType: 'HASH' }, { AttributeName: 'enteredAt', KeyType: 'RANGE' }], 'KEYS_ONLY'],
    ]);
    const journeys = tableDef('journeys').Properties;
    expect(journeys.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
  });

  test('the journey worker consumes journeyTasks (with a DLQ) and is the only function that writes journey states besides erasure and the dispatcher\'s sweep', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionName: { Ref: lambdaFor('journey-worker').logicalId }, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'Touchloop-journeyTasks', RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) });
    const writers = Object.keys(topology.functions).filter((name) => tableActions(name, 'journeyStates').some((a) => /PutItem|UpdateItem|DeleteItem/.test(a)));
    expect(writers.sort()).toEqual(['contacts-api', 'journey-worker', 'send-dispatcher']);
    // The API reads states (a contact's journeys) and writes none.
    expect(tableActions('journeys-api', 'journeyStates').some((a) => /PutItem|UpdateItem|DeleteItem/.test(a))).toBe(false);
  });

  test('journey-events reads the timeline stream from its start, reports batch item failures and has an on-failure DLQ; it touches no table', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: lambdaFor('journey-events').logicalId },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: Match.objectLike({ OnFailure: Match.anyValue() }),
    });
    const env = (lambdaFor('journey-events').props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env).filter((k) => k.startsWith('TABLE_'))).toEqual([]);
    expect(Object.keys(env)).toContain(queueEnvVar('journeyTasks'));
  });

  test('every journeys route needs the JWT and reaches journeys-api', () => {
    const { logicalId } = lambdaFor('journeys-api');
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && /^[A-Z]+ \/v1\/(journeys|contacts\/\{id\}\/journeys)/.test(String(r.Properties.RouteKey)));
    expect(routes).toHaveLength(topology.functions['journeys-api'].http!.length);
    for (const route of routes) {
      expect(route.Properties.AuthorizationType).toBe('JWT');
      const integrationId = String((route.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((p) => (typeof p === 'object' && p && 'Ref' in p ? (p as { Ref: string }).Ref : '')).join(''));
      expect(JSON.stringify(resources[integrationId]?.Properties.IntegrationUri)).toContain(logicalId);
    }
  });
});
