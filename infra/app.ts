import { App, Aspects, RemovalPolicy } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TouchloopStack } from './stack.ts';
import { topology } from './topology.ts';
import { withFunctionEnvironment, withScheduleOverrides } from './topology-types.ts';

/**
 * CDK entry (`npx cdk synth` / `npx cdk deploy`). Context values (`-c key=value` or cdk.json):
 *   stackName       stack name and resource-name prefix (default Touchloop)
 *   jwtIssuer       bring your own IdP: JWT issuer URL (default: a Cognito user pool is created)
 *   jwtAudience     comma-separated audiences for jwtIssuer
 *   marketerMfa     "required" to make the user pool's TOTP MFA mandatory (default: optional)
 *   destroyData     "true" to delete tables with the stack (dev stacks only)
 *   corsAllowOrigins comma-separated origins allowed to call the marketer API from a browser
 *   emailFrom       sender of Touchloop's email, e.g. "News <news@example.com>" (a verified SES identity)
 *   publicBaseUrl   base URL of public links (custom domain); default: the API's execute-api URL
 *   captchaSecretArn Secrets Manager ARN of the Turnstile/reCAPTCHA secret key (forms with a captcha)
 *   senderPostalAddress postal address added to marketing email that lacks one (CAN-SPAM)
 *   smsProvider     aws (End User Messaging SMS, default) or twilio
 *   smsOriginationIdentity, smsConfigurationSet   for aws
 *   twilioSecretArn, twilioStatusCallbackUrl      for twilio (secret JSON: accountSid, authToken, from)
 *   attributionSchedule, attributionTimezone     the nightly attribution run (default cron(0 2 * * ? *) UTC)
 *   softBounceLimit, softBounceWindowDays        soft bounces that suppress an address (default 3 in 30 days)
 *   sourceMaps      "true" to ship source maps with the functions and enable them (default: off)
 *   eventStreamName a Firehose delivery stream of yours that receives the event stream (default: the stack's own, into its bucket)
 * Synthesis runs cdk-nag's AwsSolutions checks: an unsuppressed finding is an error and stops
 * `cdk synth` / `cdk deploy` (suppressions, with their reasons, sit on the resources in stack.ts
 * and constructs/touchloop-function.ts).
 */
const app = new App();
Aspects.of(app).add(new AwsSolutionsChecks({ reports: false }));
const ctx = (key: string): string | undefined => {
  const value = app.node.tryGetContext(key) as unknown;
  return typeof value === 'string' && value !== '' ? value : undefined;
};
if (ctx('smsProvider') === 'twilio' && !ctx('twilioSecretArn')) {
  throw new Error('-c smsProvider=twilio needs -c twilioSecretArn=<Secrets Manager ARN of {"accountSid","authToken","from"}>');
}
const list = (value: string | undefined): string[] | undefined => value?.split(',').map((s) => s.trim()).filter(Boolean);

new TouchloopStack(app, ctx('stackName') ?? 'Touchloop', {
  topology: withFunctionEnvironment(
    withScheduleOverrides(topology, { 'nightly-attribution': { expression: ctx('attributionSchedule'), timezone: ctx('attributionTimezone') } }),
    'response-recorder',
    { SOFT_BOUNCE_LIMIT: ctx('softBounceLimit'), SOFT_BOUNCE_WINDOW_DAYS: ctx('softBounceWindowDays') },
  ),
  jwtIssuer: ctx('jwtIssuer'),
  jwtAudience: list(ctx('jwtAudience')),
  marketerMfa: ctx('marketerMfa') === 'required' ? 'required' : 'optional',
  corsAllowOrigins: list(ctx('corsAllowOrigins')),
  emailFrom: ctx('emailFrom'),
  eventStreamName: ctx('eventStreamName'),
  publicBaseUrl: ctx('publicBaseUrl'),
  captchaSecretArn: ctx('captchaSecretArn'),
  senderPostalAddress: ctx('senderPostalAddress'),
  sms:
    ctx('smsProvider') === 'twilio'
      ? { provider: 'twilio', secretArn: ctx('twilioSecretArn')!, statusCallbackUrl: ctx('twilioStatusCallbackUrl') }
      : { provider: 'aws', originationIdentity: ctx('smsOriginationIdentity'), configurationSet: ctx('smsConfigurationSet') },
  dataRemovalPolicy: ctx('destroyData') === 'true' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  sourceMaps: ctx('sourceMaps') === 'true',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
