import path from 'node:path';
import { App, Aspects, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, type INagLogger } from 'cdk-nag';
import { TouchloopStack, type TouchloopStackProps } from '../../infra/stack.ts';
import { topology } from '../../infra/topology.ts';
import type { Wiring } from '../../infra/local/runtime.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

/** Synthesizes the stack without bundling (infra tests assert the template, not the bundles). */
export function synthTemplate(props: Partial<TouchloopStackProps> = {}): { template: Template; stack: TouchloopStack } {
  const stack = unsynthesizedStack(props);
  return { template: Template.fromStack(stack), stack };
}

/** A small stand-in for the built console (index.html and assets/app.js), so infra tests need no Vite build. */
export const CONSOLE_FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'console-dist');

/** The stack in an app of its own, not yet synthesized (no bundling): add to it, then synthesize. The console is in unless props say `console: false`. */
export function unsynthesizedStack(props: Partial<TouchloopStackProps> = {}): TouchloopStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new TouchloopStack(app, 'Touchloop', { topology, env: { account: '123456789012', region: 'us-east-1' }, console: { assetsDir: CONSOLE_FIXTURE_DIR }, ...props });
}

const ref = (value: unknown): string | undefined => {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return v.Ref;
    if (Array.isArray(v['Fn::GetAtt'])) return String((v['Fn::GetAtt'] as unknown[])[0]);
  }
  return undefined;
};

/** Reads the same wiring description the local runtime gives, out of a synthesized template. */
export function wiringFromTemplate(template: Template, stackName = 'Touchloop'): Wiring {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const byType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const functionName = (logicalId: string | undefined): string => {
    const env = (resources[logicalId ?? '']?.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables;
    return env?.POWERTOOLS_SERVICE_NAME ?? `unknown:${logicalId}`;
  };
  const strip = (name: unknown) => String(name).replace(`${stackName}-`, '');
  const queueNameOf = (logicalId: string | undefined) => strip(resources[logicalId ?? '']?.Properties.QueueName);

  const routes = byType('AWS::ApiGatewayV2::Route').map(([, r]) => {
    // Target: { Fn::Join: ['', ['integrations/', { Ref: <integration> }]] }
    const integrationId = ref((r.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1][1]);
    const integration = resources[integrationId ?? '']!;
    return {
      routeKey: String(r.Properties.RouteKey),
      function: functionName(ref(integration.Properties.IntegrationUri)),
      public: r.Properties.AuthorizationType === 'NONE',
    };
  });

  const queueMaxReceive = (queueLogicalId: string | undefined) =>
    Number((resources[queueLogicalId ?? '']?.Properties.RedrivePolicy as { maxReceiveCount?: number } | undefined)?.maxReceiveCount);
  const isTableStream = (p: Record<string, unknown>) => Array.isArray((p.EventSourceArn as Record<string, unknown> | undefined)?.['Fn::GetAtt']) && (p.EventSourceArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][1] === 'StreamArn';
  const tableNameOf = (logicalId: string | undefined) => ((resources[logicalId ?? '']?.Properties.Tags as Array<{ Key: string; Value: string }> | undefined) ?? []).find((tag) => tag.Key === 'touchloop:table')?.Value ?? `unknown:${logicalId}`;
  const streamConsumers = byType('AWS::Lambda::EventSourceMapping')
    .filter(([, r]) => isTableStream(r.Properties))
    .map(([, r]) => {
      const p = r.Properties;
      return {
        table: tableNameOf(ref(p.EventSourceArn)),
        function: functionName(ref(p.FunctionName)),
        batchSize: Number(p.BatchSize),
        maxBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
        startingPosition: String(p.StartingPosition),
        retryAttempts: Number(p.MaximumRetryAttempts),
      };
    });
  const queueConsumers = byType('AWS::Lambda::EventSourceMapping').filter(([, r]) => !isTableStream(r.Properties)).map(([, r]) => {
    const p = r.Properties;
    const queueId = ref(p.EventSourceArn);
    return {
      queue: queueNameOf(queueId),
      function: functionName(ref(p.FunctionName)),
      batchSize: Number(p.BatchSize),
      maxBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
      maxConcurrency: (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency,
      maxReceiveCount: queueMaxReceive(queueId),
    };
  });

  const rules = byType('AWS::Events::Rule').map(([, r]) => {
    const p = r.Properties;
    const target = (p.Targets as Array<{ Arn: unknown }>)[0]!;
    const targetId = ref(target.Arn)!;
    const targetResource = resources[targetId]!;
    return {
      name: strip(p.Name),
      bus: p.EventBusName === 'default' ? 'default' : 'touchloop',
      pattern: p.EventPattern as Record<string, unknown>,
      target: targetResource.Type === 'AWS::SQS::Queue' ? { queue: queueNameOf(targetId) } : { function: functionName(targetId) },
    };
  });

  const schedules = byType('AWS::Scheduler::Schedule').map(([, r]) => {
    const p = r.Properties;
    return {
      name: strip(p.Name),
      function: functionName(ref((p.Target as { Arn: unknown }).Arn)),
      expression: String(p.ScheduleExpression),
      timezone: String(p.ScheduleExpressionTimezone ?? 'UTC'),
    };
  });

  const tables = byType('AWS::DynamoDB::Table').map(([logicalId, r]) => {
    const tags = (r.Properties.Tags as Array<{ Key: string; Value: string }> | undefined) ?? [];
    return tags.find((tag) => tag.Key === 'touchloop:table')?.Value ?? logicalId;
  });
  // Bucket notifications are a custom resource naming the bucket and the queue of each configuration.
  const notifications = byType('Custom::S3BucketNotifications').map(([, r]) => r.Properties);
  const buckets = byType('AWS::S3::Bucket').flatMap(([logicalId, r]) => {
    const tags = (r.Properties.Tags as Array<{ Key: string; Value: string }> | undefined) ?? [];
    const name = tags.find((tag) => tag.Key === 'touchloop:bucket')?.Value;
    if (!name) return [];
    const config = notifications.find((n) => ref(n.BucketName) === logicalId)?.NotificationConfiguration as
      | { QueueConfigurations?: Array<{ QueueArn: unknown; Filter?: { Key?: { FilterRules?: Array<{ Name: string; Value: string }> } } }> }
      | undefined;
    const queueConfig = config?.QueueConfigurations?.[0];
    const prefix = queueConfig?.Filter?.Key?.FilterRules?.find((rule) => rule.Name.toLowerCase() === 'prefix')?.Value;
    return [{ name, ...(queueConfig ? { notify: { prefix: prefix ?? '', queue: queueNameOf(ref(queueConfig.QueueArn)) } } : {}) }];
  });
  return { routes, queueConsumers, streamConsumers, rules, schedules, tables, buckets };
}

export interface NagFinding {
  rule: string;
  finding: string;
  path: string;
  reason?: string;
}

/**
 * Runs cdk-nag's AwsSolutions checks on a stack (synthesizing its app) and sorts what they found:
 * unsuppressed findings and rule errors (either must be empty for a deployable stack), and the
 * findings a suppression in code accepted, with its reason.
 */
export function nagCheck(stack: Stack): { unsuppressed: NagFinding[]; errors: NagFinding[]; suppressed: NagFinding[] } {
  const unsuppressed: NagFinding[] = [];
  const errors: NagFinding[] = [];
  const suppressed: NagFinding[] = [];
  const logger: INagLogger = {
    onCompliance: () => {},
    onNotApplicable: () => {},
    onNonCompliance: (d) => unsuppressed.push({ rule: d.ruleId, finding: d.findingId, path: d.resource.node.path }),
    onSuppressed: (d) => suppressed.push({ rule: d.ruleId, finding: d.findingId, path: d.resource.node.path, reason: d.suppressionReason }),
    onError: (d) => errors.push({ rule: d.ruleId, finding: d.errorMessage, path: d.resource.node.path }),
    onSuppressedError: (d) => errors.push({ rule: d.ruleId, finding: d.errorMessage, path: d.resource.node.path, reason: d.errorSuppressionReason }),
  };
  Aspects.of(stack).add(new AwsSolutionsChecks({ reports: false, additionalLoggers: [logger] }));
  (stack.node.root as App).synth();
  return { unsuppressed, errors, suppressed };
}
