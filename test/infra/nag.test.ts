import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, test } from 'vitest';
import { topology } from '../../infra/topology.ts';
import { CONSOLE_FIXTURE_DIR, nagCheck, unsynthesizedStack, type NagFinding } from '../helpers/stack.ts';

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
      'AwsSolutions-CFR1', // the console's distribution: no geo restriction (marketers travel)
      'AwsSolutions-CFR2', // no WAF on static files unless -c consoleWebAclArn
      'AwsSolutions-CFR3', // no CloudFront access logs for static files (the API logs who did what)
      'AwsSolutions-CFR4', // the default *.cloudfront.net certificate pins TLSv1 unless -c consoleDomain
      'AwsSolutions-COG2', // TOTP MFA optional unless -c marketerMfa=required
      'AwsSolutions-COG8', // Cognito threat protection needs the Plus plan
      'AwsSolutions-IAM4', // CDK's own bucket-notifications and bucket-deployment handlers use the basic execution managed policy
      'AwsSolutions-IAM5', // X-Ray, SMS, table indexes, campaign schedules, the schedules' invoke grants, stream listing, Firehose's bucket grant, import objects, the console deployment's bucket grants
      'AwsSolutions-L1', // Node.js 22 pinned; CDK's bucket-deployment handler runtime is CDK's
      'AwsSolutions-S1', // the imports bucket (short-lived objects behind presigned URLs), the learning bucket (training examples kept 3 days), the event stream bucket (written by Firehose, read through Athena) and the console bucket (static build, read by CloudFront only): no server access log
      'AwsSolutions-SMG4', // the signing secret must not rotate
      'AwsSolutions-SQS3', // the event-target DLQ and the stream consumer's on-failure queue are themselves DLQs
    ]);
    for (const f of suppressed) expect(f.reason?.length, `${f.rule} at ${f.path}`).toBeGreaterThan(40);
    // Each route suppression sits on a public route, never on a /v1 route.
    const apig4 = suppressed.filter((f) => f.rule === 'AwsSolutions-APIG4');
    const publicRoutes = Object.values(topology.functions).flatMap((d) => (d.http ?? []).filter((r) => r.public));
    expect(apig4).toHaveLength(publicRoutes.length);
    for (const f of apig4) expect(f.path).not.toMatch(/--v1--/);
    // Wildcard suppressions name the finding they accept (appliesTo), never the whole rule; wildcard actions only on Firehose's role for the stream's own bucket and on CDK's bucket-deployment handler for the console's bucket.
    for (const f of suppressed.filter((s) => s.rule === 'AwsSolutions-IAM5')) {
      if (f.finding.startsWith('Action::')) expect(f.path, f.finding).toMatch(/^Touchloop\/(EventStream\/S3 Destination Role|Custom::CDKBucketDeployment[0-9A-F]+\/ServiceRole)\//);
      else expect(f.finding).toMatch(/^Resource::/);
    }
    // The console's suppressions sit on its own resources and CDK's deployment handler, nowhere else.
    for (const f of suppressed.filter((s) => /^AwsSolutions-CFR/.test(s.rule))) expect(f.path).toBe('Touchloop/Console/Distribution/Resource');
    expect(suppressed.filter((f) => f.rule === 'AwsSolutions-S1').map((f) => f.path).sort()).toEqual(['Touchloop/Bucket-imports/Resource', 'Touchloop/Bucket-learning/Resource', 'Touchloop/Console/Bucket/Resource', 'Touchloop/EventStreamBucket/Resource']);
    expect(suppressed.filter((f) => f.rule === 'AwsSolutions-L1' && !/\/Fn-[a-z-]+\/Fn\/Resource$/.test(f.path)).map((f) => f.path)).toEqual([expect.stringMatching(/^Touchloop\/Custom::CDKBucketDeployment[0-9A-F]+\/Resource$/)]);
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

  test('deployment variants stay clean: Twilio, your own IdP (with and without the console), required MFA (then COG2 complies instead of being suppressed)', () => {
    const twilioOwnIdp = nagCheck(
      unsynthesizedStack({
        sms: { provider: 'twilio', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-AbCdEf' },
        jwtIssuer: 'https://idp.example.com/',
        jwtAudience: ['touchloop'],
        captchaSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:captcha-AbCdEf',
      }),
    );
    expect(show([...twilioOwnIdp.unsuppressed, ...twilioOwnIdp.errors])).toEqual([]);
    const ownIdpConsole = nagCheck(unsynthesizedStack({ jwtIssuer: 'https://idp.example.com/', jwtAudience: ['touchloop'], console: { assetsDir: CONSOLE_FIXTURE_DIR, clientId: 'touchloop-console' } }));
    expect(show([...ownIdpConsole.unsuppressed, ...ownIdpConsole.errors])).toEqual([]);
    expect(ownIdpConsole.suppressed.some((f) => f.path.startsWith('Touchloop/Console/'))).toBe(true);
    const mfa = nagCheck(unsynthesizedStack({ marketerMfa: 'required' }));
    expect(show([...mfa.unsuppressed, ...mfa.errors])).toEqual([]);
    expect(mfa.suppressed.filter((f) => f.rule === 'AwsSolutions-COG2')).toEqual([]);
  });

  test('with a web ACL and a custom domain the console complies with CFR2 and CFR4 instead of suppressing them', () => {
    const hardened = nagCheck(
      unsynthesizedStack({
        console: {
          assetsDir: CONSOLE_FIXTURE_DIR,
          webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/console/0f1e2d3c',
          domain: 'console.example.com',
          certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
        },
      }),
    );
    expect(show([...hardened.unsuppressed, ...hardened.errors])).toEqual([]);
    expect([...new Set(hardened.suppressed.filter((f) => /^AwsSolutions-CFR/.test(f.rule)).map((f) => f.rule))].sort()).toEqual(['AwsSolutions-CFR1', 'AwsSolutions-CFR3']);
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
