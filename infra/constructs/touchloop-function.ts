import path from 'node:path';
import { Aspects, Duration, RemovalPolicy, Stack, type CfnElement } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions, type NagPackSuppression } from 'cdk-nag';
import { Construct } from 'constructs';
import { repoRoot } from '../paths.ts';
import { bucketEnvVar, queueEnvVar, tableEnvVar, type BucketAccess, type FunctionDef, type TableAccess } from '../topology-types.ts';

/** What CDK's write grants leave out: the PartiQL forms of PutItem and UpdateItem, which batched single-item writes use. */
const PARTIQL_WRITE_ACTIONS = ['dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate'];

export { repoRoot };

/**
 * The most a function's bundle may weigh (minified, without source maps): the largest measured
 * (888 KB, sms-inbound, 2026-12-06) plus a little room. The synth test fails above it, so a
 * dependency pulled in by accident shows. Lower it as bundles shrink; the goal is 250 KB.
 */
export const BUNDLE_BUDGET_BYTES = 900 * 1024;

/**
 * The esbuild settings of every function bundle, shared with the bundle-size benchmark
 * (bench/bundles.bench.ts) so what it measures is what ships.
 */
export const BUNDLE_SETTINGS = {
  target: 'node22',
  minify: true,
  keepNames: true,
  mainFields: ['module', 'main'],
  // ESM bundles still meet CommonJS dependencies that call require().
  banner: "import { createRequire as __touchloopCreateRequire } from 'module'; const require = __touchloopCreateRequire(import.meta.url);",
} as const;

export interface TouchloopFunctionProps {
  /** Topology name of the function: also its service name in logs and metrics. */
  name: string;
  def: FunctionDef;
  environment?: Record<string, string>;
  logRetention?: RetentionDays;
  /**
   * Ship source maps and turn them on (`--enable-source-maps`). Off by default: the maps were
   * most of each upload, and enabling them costs every cold start tens of milliseconds; names
   * are kept in the minified bundles, so stack traces stay readable without them.
   */
  sourceMaps?: boolean;
}

/**
 * Every Touchloop Lambda: Node.js 22 on arm64, a minified esbuild ESM bundle that keeps function
 * and class names (the local esbuild, never Docker; source maps on request), structured JSON logs with a retention, X-Ray tracing, and a
 * role of its own that may write only to its own log group (not the AWSLambdaBasicExecutionRole
 * managed policy, which allows every log group of the account). Its `use*` methods grant a
 * resource and set the variable the code reads, in one call, so infra and code cannot drift apart.
 * cdk-nag findings that this design accepts are suppressed here, on the resource they concern.
 */
export class TouchloopFunction extends Construct {
  private partiqlPolicy: Policy | undefined;
  readonly fn: NodejsFunction;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: TouchloopFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Touchloop ${props.name}: writes to its own log group; the grants its topology entry declares`,
    });
    logGroup.grantWrite(this.role);
    this.fn = new NodejsFunction(this, 'Fn', {
      role: this.role,
      entry: path.join(repoRoot, props.def.entry),
      handler: props.def.handler,
      description: props.def.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.def.memoryMb ?? 512,
      timeout: Duration.seconds(props.def.timeoutSeconds),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      projectRoot: repoRoot,
      depsLockFilePath: path.join(repoRoot, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.name,
        ...(props.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        ...BUNDLE_SETTINGS,
        mainFields: [...BUNDLE_SETTINGS.mainFields],
        sourceMap: props.sourceMaps === true,
        ...(props.sourceMaps ? { sourcesContent: false } : {}),
        forceDockerBundling: false,
        // The AWS SDK v3 is in the Node.js 22 runtime, but bundling pins the version we test with.
        externalModules: [],
      },
    });
    NagSuppressions.addResourceSuppressions(this.fn, [
      {
        id: 'AwsSolutions-L1',
        reason:
          'Pinned to nodejs22.x (an LTS runtime Lambda supports) on purpose: the bundle targets node22 and the tests run on Node.js >= 20.19 (package.json engines); a newer runtime is a deliberate bump after the tests pass on it, not an automatic one.',
      },
    ]);
    this.suppressOnPolicy({
      id: 'AwsSolutions-IAM5',
      reason:
        'Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, and a table-stream event source adds dynamodb:ListStreams; none takes resource-level permissions (Resource "*" is the only form); the infra test checks that these are the only wildcard-resource actions in a function\'s default policy.',
      appliesTo: ['Resource::*'],
    });
  }

  /**
   * Suppresses a cdk-nag finding on this function's default role policy (not on the role or its
   * own policies). A role with many tables outgrows one policy document: CDK moves the rest of the
   * default policy's statements into OverflowPolicy<n> when it synthesises, so the suppression
   * goes on those too, by an aspect that runs once they exist.
   */
  suppressOnPolicy(suppression: NagPackSuppression): this {
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (!policy) throw new Error(`${this.node.path}: the role has no default policy yet`);
    NagSuppressions.addResourceSuppressions(policy, [suppression]);
    this.overflowSuppressions.push(suppression);
    if (!this.overflowAspect) {
      this.overflowAspect = true;
      Aspects.of(this.role).add({
        visit: (node) => {
          if (/^OverflowPolicy\d+$/.test(node.node.id) && node.node.scope === this.role) NagSuppressions.addResourceSuppressions(node, this.overflowSuppressions);
        },
      });
    }
    return this;
  }
  private readonly overflowSuppressions: NagPackSuppression[] = [];
  private overflowAspect = false;

  /** A policy of its own (so its findings are suppressed apart from the default policy's), attached before the function runs. */
  addPolicy(id: string, statements: PolicyStatement[], suppressions: NagPackSuppression[] = []): Policy {
    const policy = new Policy(this, id, { statements, roles: [this.role] });
    this.fn.node.addDependency(policy);
    if (suppressions.length) NagSuppressions.addResourceSuppressions(policy, suppressions);
    return policy;
  }

  /** Grants the least access to a table (and its global secondary indexes, if it has any) and sets TABLE_<NAME>. */
  useTable(name: string, table: ITable, access: TableAccess, indexNames: string[] = []): this {
    if (access === 'read') table.grantReadData(this.fn);
    else if (access === 'write') table.grantWriteData(this.fn);
    else table.grantReadWriteData(this.fn);
    // Batched single-item writes (BatchExecuteStatement INSERT/UPDATE, shared/aws/dynamodb.ts executeAll) are authorised as
    // PartiQL actions, on the table itself (statements here never name an index); in a policy of their own, so the default one stays inline.
    if (access !== 'read') {
      this.partiqlPolicy ??= this.addPolicy('PartiQLWrites', []);
      this.partiqlPolicy.addStatements(new PolicyStatement({ actions: PARTIQL_WRITE_ACTIONS, resources: [table.tableArn] }));
    }
    this.fn.addEnvironment(tableEnvVar(name), table.tableName);
    if (indexNames.length) {
      const logicalId = Stack.of(table).getLogicalId(table.node.defaultChild as CfnElement);
      this.suppressOnPolicy({
        id: 'AwsSolutions-IAM5',
        reason: `CDK's table grant covers the ${name} table's global secondary indexes as <table>/index/*; that table has exactly the indexes the topology declares (${indexNames.join(', ')}), and the function is granted only the tables it declares.`,
        appliesTo: [`Resource::<${logicalId}.Arn>/index/*`],
      });
    }
    return this;
  }

  /** Grants object reads (GetObject) and/or writes (PutObject) in one bucket, nothing on the bucket itself, and sets BUCKET_<NAME>. */
  useBucket(name: string, bucket: IBucket, access: BucketAccess): this {
    const actions = [...(access !== 'write' ? ['s3:GetObject'] : []), ...(access !== 'read' ? ['s3:PutObject'] : [])];
    this.fn.addToRolePolicy(new PolicyStatement({ actions, resources: [bucket.arnForObjects('*')] }));
    this.fn.addEnvironment(bucketEnvVar(name), bucket.bucketName);
    const logicalId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
    this.suppressOnPolicy({
      id: 'AwsSolutions-IAM5',
      reason: `Objects in the ${name} bucket are named at run time (one per import job, chunk and error file); the grant is ${actions.join(' and ')} on that bucket's objects only.`,
      appliesTo: [`Resource::<${logicalId}.Arn>/*`],
    });
    return this;
  }

  /** Grants SendMessage on a queue and sets QUEUE_URL_<NAME>. */
  sendsTo(name: string, queue: IQueue): this {
    queue.grantSendMessages(this.fn);
    this.fn.addEnvironment(queueEnvVar(name), queue.queueUrl);
    return this;
  }

  /** Grants read on the project secret and sets TOUCHLOOP_SECRET_ARN. */
  usesSecret(secret: ISecret): this {
    secret.grantRead(this.fn);
    this.fn.addEnvironment('TOUCHLOOP_SECRET_ARN', secret.secretArn);
    return this;
  }

  /** Allows SES SendEmail from the given identities through the configuration set; sets EMAIL_FROM and SES_CONFIGURATION_SET. */
  sendsEmail(options: { from: string; identityArns: string[]; configurationSetName: string; configurationSetArn: string }): this {
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [...options.identityArns, options.configurationSetArn],
      }),
    );
    this.fn.addEnvironment('EMAIL_FROM', options.from);
    this.fn.addEnvironment('SES_CONFIGURATION_SET', options.configurationSetName);
    return this;
  }

  /** Grants PutEvents on the bus and sets EVENT_BUS_NAME. */
  publishesTo(bus: IEventBus): this {
    bus.grantPutEventsTo(this.fn);
    this.fn.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    return this;
  }
}
