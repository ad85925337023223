import path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { repoRoot } from '../paths.ts';
import { queueEnvVar, tableEnvVar, type FunctionDef, type TableAccess } from '../topology-types.ts';

export { repoRoot };

export interface TouchloopFunctionProps {
  /** Topology name of the function: also its service name in logs and metrics. */
  name: string;
  def: FunctionDef;
  environment?: Record<string, string>;
  logRetention?: RetentionDays;
}

/**
 * Every Touchloop Lambda: Node.js 22 on arm64, an esbuild ESM bundle with source maps (the
 * local esbuild, never Docker), structured JSON logs with a retention, X-Ray tracing. Its
 * `use*` methods grant a resource and set the variable the code reads, in one call, so infra
 * and code cannot drift apart.
 */
export class TouchloopFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: TouchloopFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.fn = new NodejsFunction(this, 'Fn', {
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
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        forceDockerBundling: false,
        mainFields: ['module', 'main'],
        // ESM bundles still meet CommonJS dependencies that call require().
        banner: "import { createRequire as __touchloopCreateRequire } from 'module'; const require = __touchloopCreateRequire(import.meta.url);",
        // The AWS SDK v3 is in the Node.js 22 runtime, but bundling pins the version we test with.
        externalModules: [],
      },
    });
  }

  /** Grants the least access to a table and sets TABLE_<NAME>. */
  useTable(name: string, table: ITable, access: TableAccess): this {
    if (access === 'read') table.grantReadData(this.fn);
    else if (access === 'write') table.grantWriteData(this.fn);
    else table.grantReadWriteData(this.fn);
    this.fn.addEnvironment(tableEnvVar(name), table.tableName);
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
