import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, test } from 'vitest';
import { topology } from '../../infra/topology.ts';
import { nagCheck, unsynthesizedStack, type NagFinding } from '../helpers/stack.ts';

const show = (findings: NagFinding[]) => findings.map((f) => `${f.rule}${f.finding ? `[${f.finding}]` : ''} at ${f.path}`);

describe('cdk-nag AwsSolutions', () => {
  const stack = unsynthesizedStack();
  const { unsuppressed, errors, suppressed } = nagCheck(stack);

  test('the stack has no unsuppressed finding and no rule that failed to evaluate', () => {
    expect(show(unsuppressed)).toEqual([]);
    expect(show(errors)).toEqual([]);
  });

  test('what is accepted is a known set of rules, each on the resource it concerns, with a reason', () => {
    // A change here means a finding was fixed or a new one suppressed: look at it and update the list.
    expect([...new Set(suppressed.map((f) => f.rule))].sort()).toEqual([
      'AwsSolutions-APIG4', // public routes (forms, unsubscribe, tracking, conversions, Twilio webhooks)
      'AwsSolutions-COG2', // TOTP MFA optional unless -c marketerMfa=required
      'AwsSolutions-COG8', // Cognito threat protection needs the Plus plan
      'AwsSolutions-IAM4', // CDK's own bucket-notifications handler uses the basic execution managed policy
      'AwsSolutions-IAM5', // X-Ray, SMS, table indexes, campaign schedules, the schedules' invoke grants, stream listing, Firehose's bucket grant, import objects
      'AwsSolutions-L1', // Node.js 22 pinned
      'AwsSolutions-S1', // the imports bucket (short-lived objects behind presigned URLs) and the event stream bucket (written by Firehose, read through Athena): no server access log
      'AwsSolutions-SMG4', // the signing secret must not rotate
      'AwsSolutions-SQS3', // the event-target DLQ and the stream consumer's on-failure queue are themselves DLQs
    ]);
    for (const f of suppressed) expect(f.reason?.length, `${f.rule} at ${f.path}`).toBeGreaterThan(40);
    // Each route suppression sits on a public route, never on a /v1 route.
    const apig4 = suppressed.filter((f) => f.rule === 'AwsSolutions-APIG4');
    const publicRoutes = Object.values(topology.functions).flatMap((d) => (d.http ?? []).filter((r) => r.public));
    expect(apig4).toHaveLength(publicRoutes.length);
    for (const f of apig4) expect(f.path).not.toMatch(/--v1--/);
    // Wildcard suppressions name the finding they accept (appliesTo), never the whole rule; wildcard actions only on Firehose's role for the stream's own bucket.
    for (const f of suppressed.filter((s) => s.rule === 'AwsSolutions-IAM5')) {
      if (f.finding.startsWith('Action::')) expect(f.path, f.finding).toMatch(/^Touchloop\/EventStream\/S3 Destination Role\//);
      else expect(f.finding).toMatch(/^Resource::/);
    }
  });

  test('X-Ray (and a stream consumer\'s ListStreams) are the only wildcard-resource statements in a function role default policy (what its suppression says)', () => {
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const defaultPolicies = Object.entries(resources).filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && /^Fn.*RoleDefaultPolicy/.test(id));
    expect(defaultPolicies).toHaveLength(Object.keys(topology.functions).length);
    for (const [id, policy] of defaultPolicies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement;
      const wildcard = statements.filter((s) => [s.Resource].flat().includes('*')).flatMap((s) => [s.Action].flat());
      // A table-stream consumer's event source mapping also needs dynamodb:ListStreams, which has no resource-level form.
      const streamConsumer = Object.entries(topology.functions).some(([name, def]) => def.stream && id.startsWith(`Fn${name.replaceAll('-', '')}Role`));
      expect(wildcard.sort(), id).toEqual([...(streamConsumer ? ['dynamodb:ListStreams'] : []), 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
  });

  test('deployment variants stay clean: Twilio, your own IdP, required MFA (then COG2 complies instead of being suppressed)', () => {
    const twilioOwnIdp = nagCheck(
      unsynthesizedStack({
        sms: { provider: 'twilio', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf' },
        jwtIssuer: 'https://idp.example.com/',
        jwtAudience: ['touchloop'],
        captchaSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:captcha-AbCdEf',
      }),
    );
    expect(show([...twilioOwnIdp.unsuppressed, ...twilioOwnIdp.errors])).toEqual([]);
    const mfa = nagCheck(unsynthesizedStack({ marketerMfa: 'required' }));
    expect(show([...mfa.unsuppressed, ...mfa.errors])).toEqual([]);
    expect(mfa.suppressed.filter((f) => f.rule === 'AwsSolutions-COG2')).toEqual([]);
  });

  test('the check is not vacuous: a non-compliant resource is reported, in a throwaway stack and added to the Touchloop stack', () => {
    const throwaway = new Stack(new App(), 'Throwaway');
    new Queue(throwaway, 'Plain');
    expect(nagCheck(throwaway).unsuppressed.map((f) => f.rule).sort()).toEqual(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']);

    const touchloop = unsynthesizedStack();
    new Queue(touchloop, 'Unchecked');
    // A new wildcard on a function's own policy is not covered by the X-Ray suppression: it names its own finding.
    touchloop.functions['contacts-api']!.fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] }));
    expect(show(nagCheck(touchloop).unsuppressed).sort()).toEqual([
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:aws:s3:::bucket\/\*\] at Touchloop\/Fn-contacts-api\/Role\/(DefaultPolicy|OverflowPolicy\d+)\//),
      expect.stringMatching(/^AwsSolutions-SQS3 at Touchloop\/Unchecked/),
      expect.stringMatching(/^AwsSolutions-SQS4 at Touchloop\/Unchecked/),
    ]);
  });
});
