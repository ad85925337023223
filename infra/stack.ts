import { CfnOutput, Duration, Fn, RemovalPolicy, Size, Stack, Tags, TimeZone, type CfnElement, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { CorsHttpMethod, HttpApi, HttpMethod, HttpNoneAuthorizer, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { AccountRecovery, Mfa, OAuthScope, UserPool, UserPoolClient, UserPoolClientIdentityProvider } from 'aws-cdk-lib/aws-cognito';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Compression, DeliveryStream, EnableLogging, S3Bucket, StreamEncryption } from 'aws-cdk-lib/aws-kinesisfirehose';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { CfnConfigurationSetEventDestination, ConfigurationSet } from 'aws-cdk-lib/aws-ses';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { BlockPublicAccess, Bucket, BucketEncryption, EventType, HttpMethods } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { TouchloopFunction } from './constructs/touchloop-function.ts';
import { Console, type ConsoleConfig } from './console/console.ts';
import { API_BROWSER_CORS } from './console/headers.ts';
import { queueEnvVar, queueVisibilityTimeoutSeconds, type KeyDef, type Topology } from './topology-types.ts';

export interface TouchloopStackProps extends StackProps {
  topology: Topology;
  /** Bring your own identity provider: the JWT issuer URL and accepted audiences. Otherwise a Cognito user pool is created. */
  jwtIssuer?: string;
  jwtAudience?: string[];
  /** MFA for the marketers' Cognito user pool (TOTP): optional (default; users may enrol) or required. */
  marketerMfa?: 'optional' | 'required';
  /** RETAIN (default) keeps tables with customer data when the stack is deleted. */
  dataRemovalPolicy?: RemovalPolicy;
  /** Origins allowed to call the marketer API from a browser (forms carry their own lists). */
  corsAllowOrigins?: string[];
  /** Sender of Touchloop's email, e.g. `News <news@example.com>`; its domain must be a verified SES identity. */
  emailFrom?: string;
  /** Base URL of the public endpoints in links (a custom domain); defaults to the API's execute-api URL. */
  publicBaseUrl?: string;
  /** Secrets Manager ARN of the Turnstile/reCAPTCHA secret key, for forms that ask for a captcha. */
  captchaSecretArn?: string;
  /** The sender's postal address, added to marketing email that lacks it. */
  senderPostalAddress?: string;
  /** SMS provider: End User Messaging SMS (default) or Twilio. */
  sms?: { provider: 'aws'; originationIdentity?: string; configurationSet?: string } | { provider: 'twilio'; secretArn: string; statusCallbackUrl?: string };
  /** Ship source maps with the functions and enable them (off by default: larger uploads, slower cold starts). */
  sourceMaps?: boolean;
  /**
   * The event stream goes to this Firehose delivery stream of the account (one the customer runs,
   * e.g. into their own bucket, Redshift or Splunk) instead of the one the stack creates with its bucket.
   */
  eventStreamName?: string;
  /** The marketers' console (a CloudFront distribution and its sign-in client), or false/absent for none. */
  console?: ConsoleDeployment | false;
}

export interface ConsoleDeployment {
  /** The built console (Vite's dist directory). */
  assetsDir: string;
  /** Cognito hosted sign-in domain prefix (default touchloop-<stack GUID>); only without jwtIssuer. */
  authDomainPrefix?: string;
  /** With jwtIssuer: the console's client id at your IdP (a public client, code flow with PKCE). Without it the console is skipped. */
  clientId?: string;
  /** With jwtIssuer: scopes the console asks for (default openid email profile). */
  scopes?: string[];
  /** With jwtIssuer: where "Sign out" goes (default: the IdP's end_session_endpoint). */
  logoutUrl?: string;
  /** A WAF web ACL (CLOUDFRONT scope) for the console's distribution. */
  webAclArn?: string;
  /** A custom domain for the console, with certificateArn (ACM, us-east-1). */
  domain?: string;
  certificateArn?: string;
}

/** Where the event stream's objects go in its bucket: one partition per UTC day of arrival (Athena projects year/month/day). */
export const EVENT_STREAM_PREFIX = 'events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';
export const EVENT_STREAM_ERROR_PREFIX = 'errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';

const attributeType = (key: KeyDef): AttributeType => (key.type === 'N' ? AttributeType.NUMBER : AttributeType.STRING);

/** Event-rule and schedule targets retry for up to a day, then park the event in a DLQ. */
const TARGET_RETRY_ATTEMPTS = 8;
const TARGET_MAX_EVENT_AGE = Duration.hours(24);

/**
 * Why each public route has no authorizer (cdk-nag AwsSolutions-APIG4), by path prefix. A new
 * public route needs its own entry here: synthesis refuses a public route without one.
 */
const PUBLIC_ROUTE_REASONS: Record<string, string> = {
  '/f/':
    'Web form embed, submission (and its CORS preflight) and the double-opt-in confirmation link are used by the public, who have no account: the handler checks the form\'s allowed origins, rate-limits per IP, verifies a captcha where the form asks for one, and confirms only with a signed token.',
  '/u/': 'Unsubscribe link (and RFC 8058 one-click POST) in an email, opened by a recipient without an account: a signed token in the path names the recipient; a bad token changes nothing.',
  '/e/': 'Conversion reports from a registered site\'s thank-you page in a visitor\'s browser: the handler accepts only the site\'s allowed origins, rate-limits per IP and per site, and attributes only signed click ids.',
  '/t/': 'Click and open tracking links in an email, opened by a recipient without an account: a signed token names the send; a tampered token records nothing and redirects nowhere.',
  '/webhooks/twilio/': 'Twilio calls these webhooks without a JWT: the handler checks X-Twilio-Signature against the account\'s auth token and answers 403 without a valid one.',
};

export class TouchloopStack extends Stack {
  readonly tables: Record<string, Table> = {};
  readonly queues: Record<string, Queue> = {};
  readonly deadLetterQueues: Record<string, Queue> = {};
  readonly buckets: Record<string, Bucket> = {};
  readonly functions: Record<string, TouchloopFunction> = {};
  readonly bus: IEventBus;
  readonly api: HttpApi;
  readonly secret: Secret;
  readonly emailConfigurationSet: ConfigurationSet;
  /** The event stream the stack created (undefined when the deployment names its own, or no function writes one). */
  eventStream?: { deliveryStream: DeliveryStream; bucket: Bucket };
  /** The marketers' console, when deployed. */
  readonly console?: Console;

  constructor(scope: Construct, id: string, props: TouchloopStackProps) {
    super(scope, id, props);
    const { topology } = props;
    const prefix = this.stackName;

    const streamTables = new Set(Object.values(topology.functions).flatMap((f) => (f.stream ? [f.stream.table] : [])));
    for (const [name, def] of Object.entries(topology.tables)) {
      this.tables[name] = new Table(this, `Table-${name}`, {
        stream: streamTables.has(name) ? StreamViewType.NEW_IMAGE : undefined,
        partitionKey: { name: def.partitionKey.name, type: attributeType(def.partitionKey) },
        sortKey: def.sortKey ? { name: def.sortKey.name, type: attributeType(def.sortKey) } : undefined,
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: def.timeToLiveAttribute,
        removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
      });
      Tags.of(this.tables[name]).add('touchloop:table', name);
      for (const index of def.indexes ?? []) {
        this.tables[name].addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey.name, type: attributeType(index.partitionKey) },
          sortKey: index.sortKey ? { name: index.sortKey.name, type: attributeType(index.sortKey) } : undefined,
          projectionType: index.projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
        });
      }
    }

    for (const [name, def] of Object.entries(topology.queues)) {
      const dlq = new Queue(this, `Dlq-${name}`, {
        queueName: `${prefix}-${name}-dlq`,
        retentionPeriod: Duration.days(14),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      this.deadLetterQueues[name] = dlq;
      this.queues[name] = new Queue(this, `Queue-${name}`, {
        queueName: `${prefix}-${name}`,
        visibilityTimeout: Duration.seconds(queueVisibilityTimeoutSeconds(topology, name)),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: dlq, maxReceiveCount: def.maxReceiveCount },
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      this.alarmOnMessages(`DlqAlarm-${name}`, dlq, `${name}: messages failed ${def.maxReceiveCount} times and were parked in the DLQ`);
      if (def.snsTopic) {
        const topic = new Topic(this, `Topic-${def.snsTopic}`, { topicName: `${prefix}-${def.snsTopic}`, enforceSSL: true });
        topic.addSubscription(new SqsSubscription(this.queues[name]!, { deadLetterQueue: dlq }));
        new CfnOutput(this, `TopicArn-${def.snsTopic}`, { value: topic.topicArn, description: `SNS topic feeding the ${name} queue` });
      }
    }

    const signIn = this.marketerSignIn(props);
    const corsOrigins = props.corsAllowOrigins ?? [];

    for (const [name, def] of Object.entries(topology.buckets ?? {})) {
      const bucket = new Bucket(this, `Bucket-${name}`, {
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        encryption: BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        lifecycleRules: [{ expiration: Duration.days(def.expireAfterDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
        removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
        // Browsers upload through presigned PUT URLs, from the API's CORS origins only (corsAllowOrigins).
        cors: corsOrigins.length ? [{ allowedMethods: [HttpMethods.PUT, HttpMethods.GET], allowedOrigins: corsOrigins, allowedHeaders: ['content-type'], maxAge: 3600 }] : undefined,
      });
      Tags.of(bucket).add('touchloop:bucket', name);
      NagSuppressions.addResourceSuppressions(bucket, [
        {
          id: 'AwsSolutions-S1',
          reason: `${def.description} Objects live ${def.expireAfterDays} days and are reached only by the functions granted access and through URLs the API presigns for authenticated marketers (API access logs record who asked); enable CloudTrail S3 data events on this bucket if object-level audit is required.`,
        },
      ]);
      if (def.notify) {
        const queue = this.queues[def.notify.queue];
        if (!queue) throw new Error(`bucket ${name} notifies unknown queue ${def.notify.queue}`);
        bucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(queue), { prefix: def.notify.prefix });
      }
      this.buckets[name] = bucket;
    }
    // S3 notifications are configured by a handler CDK adds once per stack (a custom resource).
    const notificationsHandler = this.node.children.find((child) => child.node.id.startsWith('BucketNotificationsHandler'));
    if (notificationsHandler) {
      NagSuppressions.addResourceSuppressions(
        notificationsHandler,
        [
          {
            id: 'AwsSolutions-IAM4',
            reason: "CDK's BucketNotificationsHandler (a custom resource that runs only at deploy time to set the imports bucket's notification to SQS) comes with the AWSLambdaBasicExecutionRole managed policy, which grants writing its own logs and nothing else.",
            appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
          },
        ],
        true,
      );
    }

    // Undeliverable events and schedule invocations land here (each rule/schedule target names it).
    const targetDlq = new Queue(this, 'TargetDlq', {
      queueName: `${prefix}-event-targets-dlq`,
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.deadLetterQueues['event-targets'] = targetDlq;
    NagSuppressions.addResourceSuppressions(targetDlq, [
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of every event-rule and schedule target (they name it in their DeadLetterConfig, which cdk-nag does not read as a redrive); it is alarmed, and a DLQ of a DLQ would only move the same messages.',
      },
    ]);
    this.alarmOnMessages('DlqAlarm-event-targets', targetDlq, 'An event rule or schedule could not deliver to its target');

    this.bus = new EventBus(this, 'Bus', { eventBusName: `${prefix}-bus` });

    this.secret = new Secret(this, 'ProjectSecret', {
      description: 'Touchloop signing secret: confirmation/tracking tokens and keyed address hashes. Do not rotate: suppression hashes depend on it.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(this.secret, [
      {
        id: 'AwsSolutions-SMG4',
        reason: 'Not rotated by design: the keyed hashes of suppressed addresses (kept after erasure) and outstanding confirmation/unsubscribe/tracking tokens are derived from this key, so rotating it would silently re-admit suppressed addresses and break links already sent.',
      },
    ]);
    this.emailConfigurationSet = new ConfigurationSet(this, 'EmailConfigurationSet', { configurationSetName: `${prefix}-email` });
    // Every SES event of Touchloop's email goes to the account's default bus, where the responses rules pick it up.
    new CfnConfigurationSetEventDestination(this, 'EmailEventsToEventBridge', {
      configurationSetName: this.emailConfigurationSet.configurationSetName,
      eventDestination: {
        name: 'touchloop-eventbridge',
        enabled: true,
        matchingEventTypes: ['SEND', 'REJECT', 'BOUNCE', 'COMPLAINT', 'DELIVERY', 'OPEN', 'CLICK', 'RENDERING_FAILURE', 'DELIVERY_DELAY', 'SUBSCRIPTION'],
        eventBridgeDestination: { eventBusArn: `arn:${this.partition}:events:${this.region}:${this.account}:event-bus/default` },
      },
    });
    const emailFrom = props.emailFrom ?? 'Touchloop <no-reply@example.com>';
    const fromDomain = /@([^>\s]+)>?\s*$/.exec(emailFrom)?.[1] ?? '*';
    const emailIdentityArns = [
      `arn:${this.partition}:ses:${this.region}:${this.account}:identity/${fromDomain}`,
      `arn:${this.partition}:ses:${this.region}:${this.account}:identity/${/<?([^<>\s]+@[^<>\s]+)>?\s*$/.exec(emailFrom)?.[1] ?? '*'}`,
    ];

    this.api = new HttpApi(this, 'Api', {
      description: 'Touchloop HTTP API: marketer API (/v1, JWT) and public form, tracking and webhook routes',
      createDefaultStage: false,
      corsPreflight: corsOrigins.length
        ? {
            allowOrigins: corsOrigins,
            allowHeaders: [...API_BROWSER_CORS.allowHeaders],
            allowMethods: [CorsHttpMethod.ANY],
            exposeHeaders: [...API_BROWSER_CORS.exposeHeaders],
            maxAge: Duration.seconds(API_BROWSER_CORS.maxAgeSeconds),
          }
        : undefined,
    });
    // Access logs name the route template, never the request path: paths carry tokens (confirmation, unsubscribe, tracking).
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });
    const publicBaseUrl = props.publicBaseUrl ?? this.api.apiEndpoint;

    for (const [name, def] of Object.entries(topology.functions)) {
      const fn = new TouchloopFunction(this, `Fn-${name}`, { name, def, sourceMaps: props.sourceMaps === true });
      this.functions[name] = fn;
      for (const [table, access] of Object.entries(def.tables ?? {})) {
        const t = this.tables[table];
        if (!t || !access) throw new Error(`${name} uses unknown table ${table}`);
        fn.useTable(table, t, access, (topology.tables[table]?.indexes ?? []).map((index) => index.name));
      }
      for (const [bucket, access] of Object.entries(def.buckets ?? {})) {
        const b = this.buckets[bucket];
        if (!b || !access) throw new Error(`${name} uses unknown bucket ${bucket}`);
        fn.useBucket(bucket, b, access);
      }
      for (const queue of def.sendsTo ?? []) {
        const q = this.queues[queue];
        if (!q) throw new Error(`${name} sends to unknown queue ${queue}`);
        fn.sendsTo(queue, q);
      }
      if (def.publishesEvents) fn.publishesTo(this.bus);
      if (def.usesSecret) fn.usesSecret(this.secret);
      if (def.sendsEmail) {
        fn.sendsEmail({
          from: emailFrom,
          identityArns: emailIdentityArns,
          configurationSetName: this.emailConfigurationSet.configurationSetName,
          configurationSetArn: `arn:${this.partition}:ses:${this.region}:${this.account}:configuration-set/${this.emailConfigurationSet.configurationSetName}`,
        });
      }
      if (def.linksToPublicApi) fn.fn.addEnvironment('PUBLIC_BASE_URL', publicBaseUrl);
      if (def.sendsEmail && props.senderPostalAddress) fn.fn.addEnvironment('SENDER_POSTAL_ADDRESS', props.senderPostalAddress);
      if (def.verifiesCaptcha && props.captchaSecretArn) {
        Secret.fromSecretCompleteArn(this, `CaptchaSecret-${name}`, props.captchaSecretArn).grantRead(fn.fn);
        fn.fn.addEnvironment('CAPTCHA_SECRET_ARN', props.captchaSecretArn);
      }
      for (const [key, value] of Object.entries(def.environment ?? {})) fn.fn.addEnvironment(key, value);
      if (def.sendsSms) this.allowSms(fn, props);
      if (def.receivesTwilioWebhooks && props.sms?.provider === 'twilio') {
        Secret.fromSecretCompleteArn(this, `TwilioWebhookSecret-${name}`, props.sms.secretArn).grantRead(fn.fn);
        fn.fn.addEnvironment('TWILIO_SECRET_ARN', props.sms.secretArn);
      }
      if (def.managesSchedules) {
        const target = this.queues[def.managesSchedules.targetQueue];
        if (!target) throw new Error(`${name} schedules into unknown queue ${def.managesSchedules.targetQueue}`);
        this.allowScheduling(fn, target);
      }
      if (def.writesEventStream) this.writeEventStream(fn, props);
      if (def.stream) {
        const table = this.tables[def.stream.table];
        if (!table) throw new Error(`${name} consumes the stream of unknown table ${def.stream.table}`);
        // A batch whose retries run out leaves its position (shard, sequence numbers) here.
        const dlq = new Queue(this, `Dlq-stream-${name}`, { queueName: `${prefix}-${name}-stream-dlq`, retentionPeriod: Duration.days(14), encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
        this.deadLetterQueues[`${name}-stream`] = dlq;
        NagSuppressions.addResourceSuppressions(dlq, [
          { id: 'AwsSolutions-SQS3', reason: `This queue is itself the on-failure destination of the ${name} function's table-stream event source mapping (cdk-nag does not read that as a redrive); it is alarmed.` },
        ]);
        this.alarmOnMessages(`DlqAlarm-stream-${name}`, dlq, `${name}: a batch of ${def.stream.table} changes failed ${def.stream.retryAttempts} retries; its position is in the DLQ`);
        fn.fn.addEventSource(
          new DynamoEventSource(table, {
            startingPosition: StartingPosition[def.stream.startingPosition],
            batchSize: def.stream.batchSize,
            maxBatchingWindow: def.stream.maxBatchingWindowSeconds ? Duration.seconds(def.stream.maxBatchingWindowSeconds) : undefined,
            retryAttempts: def.stream.retryAttempts,
            bisectBatchOnError: true,
            reportBatchItemFailures: true,
            onFailure: new SqsDlq(dlq),
          }),
        );
      }
      if (def.queue) {
        const q = this.queues[def.queue.queue];
        if (!q) throw new Error(`${name} consumes unknown queue ${def.queue.queue}`);
        // The consumer may push a message's redelivery back (throttling back-off).
        fn.fn.addEnvironment(queueEnvVar(def.queue.queue), q.queueUrl);
        fn.fn.addEventSource(
          new SqsEventSource(q, {
            batchSize: def.queue.batchSize,
            maxBatchingWindow: def.queue.maxBatchingWindowSeconds ? Duration.seconds(def.queue.maxBatchingWindowSeconds) : undefined,
            maxConcurrency: def.queue.maxConcurrency,
            reportBatchItemFailures: true,
          }),
        );
      }
    }

    // The console (its CloudFront site passes /v1/* to this API) and its sign-in client, which the authorizer below accepts.
    const consoleSite = props.console ? this.consoleSite(props, props.console, signIn) : undefined;
    this.console = consoleSite?.console;

    // Marketer API auth: a JWT authorizer on every non-public route, accepting the API's and the console's clients.
    const authorizer: IHttpRouteAuthorizer = new HttpJwtAuthorizer('MarketerJwt', signIn.issuer, { jwtAudience: signIn.audiences });

    const publicAuthorizer = new HttpNoneAuthorizer();
    for (const [name, def] of Object.entries(topology.functions)) {
      if (!def.http?.length) continue;
      // One invoke permission per function for this API's routes, not one per route: 73 routes would
      // otherwise cost 73 AWS::Lambda::Permission resources of CloudFormation's 500 per stack. API
      // Gateway invokes a function only from the routes integrated with it, all declared here.
      const integration = new HttpLambdaIntegration(`Integration-${name}`, this.functions[name]!.fn, { scopePermissionToRoute: false });
      for (const route of def.http) {
        const routes = this.api.addRoutes({
          path: route.path,
          methods: [HttpMethod[route.method]],
          integration,
          authorizer: route.public ? publicAuthorizer : authorizer,
        });
        if (route.public) {
          const reason = Object.entries(PUBLIC_ROUTE_REASONS).find(([prefix]) => route.path.startsWith(prefix))?.[1];
          if (!reason) throw new Error(`public route ${route.method} ${route.path} has no reason in PUBLIC_ROUTE_REASONS (stack.ts)`);
          NagSuppressions.addResourceSuppressions(routes, [{ id: 'AwsSolutions-APIG4', reason }]);
        }
      }
    }
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    consoleSite?.publish();

    for (const [ruleName, def] of Object.entries(topology.rules)) {
      const bus = def.bus === 'default' ? EventBus.fromEventBusName(this, `DefaultBus-${ruleName}`, 'default') : this.bus;
      const rule = new Rule(this, `Rule-${ruleName}`, {
        ruleName: `${prefix}-${ruleName}`,
        description: def.description,
        eventBus: bus,
        eventPattern: toCdkPattern(def.pattern),
      });
      const targetOptions = { deadLetterQueue: targetDlq, retryAttempts: TARGET_RETRY_ATTEMPTS, maxEventAge: TARGET_MAX_EVENT_AGE };
      if ('queue' in def.target) {
        const q = this.queues[def.target.queue];
        if (!q) throw new Error(`rule ${ruleName} targets unknown queue ${def.target.queue}`);
        rule.addTarget(new SqsQueue(q, targetOptions));
      } else {
        const fn = this.functions[def.target.function];
        if (!fn) throw new Error(`rule ${ruleName} targets unknown function ${def.target.function}`);
        rule.addTarget(new LambdaFunction(fn.fn, targetOptions));
      }
    }

    const hasSchedules = Object.values(topology.functions).some((f) => f.schedules?.length);
    const scheduleGroup = hasSchedules ? new ScheduleGroup(this, 'Schedules', { scheduleGroupName: `${prefix}-schedules` }) : undefined;
    for (const [name, def] of Object.entries(topology.functions)) {
      for (const schedule of def.schedules ?? []) {
        const fn = this.functions[name]!;
        const role = this.scheduleRole(schedule.name, scheduleGroup!, fn);
        new Schedule(this, `Schedule-${schedule.name}`, {
          scheduleName: `${prefix}-${schedule.name}`,
          description: schedule.description,
          scheduleGroup,
          schedule: ScheduleExpression.expression(schedule.expression, TimeZone.of(schedule.timezone ?? 'UTC')),
          target: new LambdaInvoke(fn.fn, {
            role,
            input: ScheduleTargetInput.fromObject(schedule.input ?? {}),
            deadLetterQueue: targetDlq,
            retryAttempts: TARGET_RETRY_ATTEMPTS,
            maxEventAge: TARGET_MAX_EVENT_AGE,
          }),
        });
        // The target's grants are in the role's default policy once the schedule has bound it.
        NagSuppressions.addResourceSuppressions(role.node.findChild('DefaultPolicy'), [
          {
            id: 'AwsSolutions-IAM5',
            reason:
              "LambdaInvoke grants lambda:InvokeFunction through CDK's grantInvoke, which adds the function's versions and aliases (<function>:*) to the function itself; the role is assumed only by EventBridge Scheduler for this stack's schedule group.",
            appliesTo: [`Resource::<${this.getLogicalId(fn.fn.node.defaultChild as CfnElement)}.Arn>:*`],
          },
        ]);
      }
    }
  }

  /**
   * The marketers' console: its CloudFront site, and its sign-in. With Cognito, a hosted sign-in
   * domain and a public client (code grant only) the API's authorizer accepts beside the API client.
   * With your own IdP, the console's client there (clientId), or no console and an output saying so.
   */
  private consoleSite(
    props: TouchloopStackProps,
    deployment: ConsoleDeployment,
    signIn: { audiences: string[]; userPool?: UserPool },
  ): { console: Console; publish: () => void } | undefined {
    if (props.jwtIssuer) {
      if (deployment.authDomainPrefix) throw new Error('console.authDomainPrefix (-c consoleAuthDomainPrefix) names a Cognito sign-in domain; with -c jwtIssuer marketers sign in at your IdP');
      if (!deployment.clientId) {
        new CfnOutput(this, 'ConsoleSkipped', {
          value: "Console not deployed: with -c jwtIssuer it needs -c consoleClientId=<the console's client id at your IdP>",
          description: 'Why the stack has no console',
        });
        return undefined;
      }
    } else {
      for (const key of ['clientId', 'scopes', 'logoutUrl'] as const) {
        if (deployment[key] !== undefined) throw new Error(`console.${key} is for your own IdP (-c jwtIssuer); with Cognito the stack creates the console's client`);
      }
    }
    if (Boolean(deployment.domain) !== Boolean(deployment.certificateArn)) throw new Error('console.domain and console.certificateArn go together (-c consoleDomain with -c consoleCertificateArn)');
    const domain = deployment.domain && deployment.certificateArn ? { name: deployment.domain, certificateArn: deployment.certificateArn } : undefined;

    const authDomain = signIn.userPool?.addDomain('SignInDomain', {
      cognitoDomain: { domainPrefix: deployment.authDomainPrefix ? checkedDomainPrefix(deployment.authDomainPrefix) : `touchloop-${Fn.select(2, Fn.split('/', this.stackId))}` },
    });
    const site = new Console(this, 'Console', {
      assetsDir: deployment.assetsDir,
      apiDomainName: `${this.api.apiId}.execute-api.${this.region}.${this.urlSuffix}`,
      // The API is on the console's own origin ('self'); sign-in talks to the IdP.
      headers: { authOrigins: authDomain ? [authDomain.baseUrl(), `https://cognito-idp.${this.region}.amazonaws.com`] : [issuerOrigin(props.jwtIssuer!)] },
      webAclArn: deployment.webAclArn,
      domain,
    });
    const callbackUrl = `${site.url}/auth/callback`;

    let auth: ConsoleConfig['auth'];
    if (signIn.userPool && authDomain) {
      const client = new UserPoolClient(this, 'MarketersConsoleClient', {
        userPool: signIn.userPool,
        generateSecret: false,
        // Sign-in only through the hosted pages (code grant with PKCE); refresh tokens renew the session.
        authFlows: { userPassword: false, userSrp: false, custom: false, adminUserPassword: false },
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
          callbackUrls: [callbackUrl],
          logoutUrls: [`${site.url}/`],
        },
        supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
        preventUserExistenceErrors: true,
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
        refreshTokenValidity: Duration.hours(12),
      });
      // HTTP API JWT authorizers match a Cognito access token's client_id against the audiences.
      signIn.audiences.push(client.userPoolClientId);
      auth = {
        mode: 'oidc',
        authority: `https://cognito-idp.${this.region}.amazonaws.com/${signIn.userPool.userPoolId}`,
        clientId: client.userPoolClientId,
        scopes: ['openid', 'email', 'profile'],
        // Cognito's discovery document has no end_session_endpoint: its /logout takes the client and where to return.
        logoutUrl: `${authDomain.baseUrl()}/logout?client_id=${client.userPoolClientId}&logout_uri=${encodeURIComponent('https://')}${site.domainName}${encodeURIComponent('/')}`,
      };
      new CfnOutput(this, 'ConsoleSignInDomain', { value: authDomain.baseUrl(), description: "Cognito's hosted sign-in pages for the console" });
    } else {
      auth = {
        mode: 'oidc',
        authority: props.jwtIssuer!,
        clientId: deployment.clientId!,
        scopes: deployment.scopes?.length ? deployment.scopes : ['openid', 'email', 'profile'],
        ...(deployment.logoutUrl ? { logoutUrl: deployment.logoutUrl } : {}),
      };
    }
    new CfnOutput(this, 'ConsoleUrl', { value: site.url, description: "The marketers' console" });
    new CfnOutput(this, 'ConsoleCallbackUrl', { value: callbackUrl, description: "The console's sign-in redirect URI (register it with your IdP when you bring one)" });
    return { console: site, publish: () => site.publish({ apiUrl: '', auth }) };
  }

  /**
   * Who may call the marketer API: your own IdP (jwtIssuer, jwtAudience), or a Cognito user pool
   * with a client for API tokens. The console's client, if any, joins `audiences` later.
   */
  private marketerSignIn(props: TouchloopStackProps): { issuer: string; audiences: string[]; userPool?: UserPool } {
    if (props.jwtIssuer) return { issuer: props.jwtIssuer, audiences: [...(props.jwtAudience ?? [])] };
    const userPool = new UserPool(this, 'Marketers', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
      mfa: props.marketerMfa === 'required' ? Mfa.REQUIRED : Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(userPool, [
      ...(props.marketerMfa === 'required'
        ? []
        : [
            {
              id: 'AwsSolutions-COG2',
              reason:
                'TOTP MFA is optional by default so the documented admin-create-user + USER_PASSWORD_AUTH token flow works on a new stack; a deployment holding real contacts should set -c marketerMfa=required (or bring its own IdP with MFA via -c jwtIssuer).',
            },
          ]),
      {
        id: 'AwsSolutions-COG8',
        reason:
          'Threat protection needs the Cognito Plus feature plan, billed per monthly active user; a deployer who wants adaptive authentication and compromised-credential checks sets featurePlan PLUS with threat protection on this pool, or brings an IdP that has them (-c jwtIssuer).',
      },
    ]);
    // Tokens for API callers come from InitiateAuth; no OAuth flow (CDK's default would allow the
    // implicit and code grants to https://example.com once the pool has a hosted sign-in domain).
    const client = new UserPoolClient(this, 'MarketersApiClient', {
      userPool,
      authFlows: { userPassword: true, userSrp: true },
      generateSecret: false,
      disableOAuth: true,
    });
    new CfnOutput(this, 'UserPoolId', { value: userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId });
    return { issuer: `https://cognito-idp.${this.region}.amazonaws.com/${userPool.userPoolId}`, audiences: [client.userPoolClientId], userPool };
  }

  /**
   * The public event stream: a Firehose delivery stream (Direct PUT, encrypted) into an encrypted,
   * private bucket, one prefix per UTC day, gzip objects every 5 minutes or 64 MiB; or the
   * delivery stream the deployment names. The function may put records to that stream only.
   */
  private writeEventStream(fn: TouchloopFunction, props: TouchloopStackProps): void {
    if (props.eventStreamName) {
      fn.fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
          resources: [`arn:${this.partition}:firehose:${this.region}:${this.account}:deliverystream/${props.eventStreamName}`],
        }),
      );
      fn.fn.addEnvironment('EVENT_STREAM_NAME', props.eventStreamName);
      return;
    }
    if (!this.eventStream) {
      const bucket = new Bucket(this, 'EventStreamBucket', {
        encryption: BucketEncryption.S3_MANAGED,
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
      });
      NagSuppressions.addResourceSuppressions(bucket, [
        {
          id: 'AwsSolutions-S1',
          reason:
            'Only the stack\'s Firehose delivery stream writes this bucket (its role is the one writer) and readers query it through Athena; per-request access logs would add a log object per delivered object. Enable S3 data events in CloudTrail where an audit of reads is required.',
        },
      ]);
      const deliveryStream = new DeliveryStream(this, 'EventStream', {
        deliveryStreamName: `${this.stackName}-events`,
        encryption: StreamEncryption.awsOwnedKey(),
        destination: new S3Bucket(bucket, {
          dataOutputPrefix: EVENT_STREAM_PREFIX,
          errorOutputPrefix: EVENT_STREAM_ERROR_PREFIX,
          bufferingInterval: Duration.minutes(5),
          bufferingSize: Size.mebibytes(64),
          compression: Compression.GZIP,
          loggingConfig: new EnableLogging(new LogGroup(this, 'EventStreamLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })),
        }),
      });
      NagSuppressions.addResourceSuppressions(deliveryStream.node.findChild('S3 Destination Role').node.findChild('DefaultPolicy'), [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "CDK's Firehose S3 destination grants its role read-write on the destination bucket (bucket.grantReadWrite: object and multipart actions on <bucket>/*); the role is assumed only by firehose.amazonaws.com for this delivery stream, and the bucket holds nothing but the event stream.",
          appliesTo: ['Action::s3:Abort*', 'Action::s3:DeleteObject*', 'Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `Resource::<${this.getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>/*`],
        },
      ]);
      this.eventStream = { deliveryStream, bucket };
      new CfnOutput(this, 'EventStreamBucketName', { value: bucket.bucketName, description: 'Bucket of the event stream (NDJSON, gzip), under events/year=/month=/day=/' });
      new CfnOutput(this, 'EventStreamName', { value: deliveryStream.deliveryStreamName, description: 'Firehose delivery stream of the event stream' });
    }
    this.eventStream.deliveryStream.grantPutRecords(fn.fn);
    fn.fn.addEnvironment('EVENT_STREAM_NAME', this.eventStream.deliveryStream.deliveryStreamName);
  }

  private scheduling?: { group: ScheduleGroup; role: Role };

  /** The role EventBridge Scheduler assumes for one of the stack's own schedules (invoke the function, send to the DLQ). */
  private scheduleRole(scheduleName: string, group: ScheduleGroup, fn: TouchloopFunction): Role {
    const role = new Role(this, `ScheduleRole-${scheduleName}`, {
      description: `EventBridge Scheduler invokes ${fn.node.id} for the ${scheduleName} schedule`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account, 'aws:SourceArn': group.scheduleGroupArn } },
      }),
    });
    return role;
  }

  /** Campaign and journey schedules: their own group, and a role EventBridge Scheduler assumes to deliver to the target queues. */
  private allowScheduling(fn: TouchloopFunction, target: Queue): void {
    if (!this.scheduling) {
      const group = new ScheduleGroup(this, 'CampaignSchedules', { scheduleGroupName: `${this.stackName}-campaigns` });
      const role = new Role(this, 'SchedulerRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com'), description: 'EventBridge Scheduler delivers campaign launches and segment-audience journey runs to their queues' });
      this.scheduling = { group, role };
    }
    const { group, role } = this.scheduling;
    // The role may send to each queue a scheduling function targets (launches, journeyTasks), and nowhere else.
    target.grantSendMessages(role);
    fn.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
        resources: [`arn:${this.partition}:scheduler:${this.region}:${this.account}:schedule/${group.scheduleGroupName}/*`],
      }),
    );
    role.grantPassRole(fn.fn.grantPrincipal);
    fn.suppressOnPolicy({
      id: 'AwsSolutions-IAM5',
      reason: 'Campaign and journey schedules are created at run time, one per scheduled campaign or journey, with names not known at deploy time; the wildcard is confined to the stack\'s own campaigns schedule group.',
      appliesTo: [{ regex: `/^Resource::arn:<AWS::Partition>:scheduler:[^/]+:schedule\\/${this.stackName}-campaigns\\/\\*$/` }],
    });
    fn.fn.addEnvironment('SCHEDULE_GROUP', group.scheduleGroupName);
    fn.fn.addEnvironment('SCHEDULER_ROLE_ARN', role.roleArn);
    fn.fn.addEnvironment('LAUNCH_QUEUE_ARN', target.queueArn);
  }

  private allowSms(fn: TouchloopFunction, props: TouchloopStackProps): void {
    const sms = props.sms ?? { provider: 'aws' as const };
    fn.fn.addEnvironment('SMS_PROVIDER', sms.provider);
    if (sms.provider === 'twilio') {
      Secret.fromSecretCompleteArn(this, `TwilioSecret-${fn.node.id}`, sms.secretArn).grantRead(fn.fn);
      fn.fn.addEnvironment('TWILIO_SECRET_ARN', sms.secretArn);
      if (sms.statusCallbackUrl) fn.fn.addEnvironment('TWILIO_STATUS_CALLBACK_URL', sms.statusCallbackUrl);
      return;
    }
    fn.addPolicy('SmsPolicy', [new PolicyStatement({ actions: ['sms-voice:SendTextMessage'], resources: ['*'] })], [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'SendTextMessage names its origination identity, configuration set and opt-out list only optionally; without an origination identity configured, End User Messaging picks one of the account\'s, so the action is authorized against "*". This policy holds only that one action.',
        appliesTo: ['Resource::*'],
      },
    ]);
    if (sms.originationIdentity) fn.fn.addEnvironment('SMS_ORIGINATION_IDENTITY', sms.originationIdentity);
    if (sms.configurationSet) fn.fn.addEnvironment('SMS_CONFIGURATION_SET', sms.configurationSet);
  }

  private alarmOnMessages(id: string, queue: Queue, description: string): void {
    new Alarm(this, id, {
      alarmDescription: description,
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}

/** Cognito domain prefixes: lower-case letters, digits and inner hyphens, and none of Cognito's reserved words. */
function checkedDomainPrefix(prefix: string): string {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix) || /aws|amazon|cognito/.test(prefix)) {
    throw new Error(`console.authDomainPrefix ${JSON.stringify(prefix)}: a Cognito domain prefix is 1-63 lower-case letters, digits and inner hyphens, without "aws", "amazon" or "cognito"`);
  }
  return prefix;
}

/** The origin the console's sign-in code talks to at your IdP (discovery, token endpoint). */
function issuerOrigin(issuer: string): string {
  try {
    const url = new URL(issuer);
    if (url.protocol === 'https:') return url.origin;
  } catch {
    // reported below
  }
  throw new Error(`jwtIssuer ${JSON.stringify(issuer)} is not an https URL; the console signs in there`);
}

/** CDK's EventPattern type names `detail-type` as `detailType`; the topology uses EventBridge's own JSON. */
function toCdkPattern(pattern: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pattern)) {
    out[key === 'detail-type' ? 'detailType' : key] = value;
  }
  return out;
}
