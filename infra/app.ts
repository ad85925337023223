import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
 * The marketers' console (built with Vite before synthesis, served by CloudFront):
 *   console         "false" to deploy without it (and skip the build)
 *   consoleAuthDomainPrefix  Cognito hosted sign-in domain prefix (default touchloop-<stack GUID>)
 *   consoleClientId with jwtIssuer: the console's client id at your IdP (a public client, code flow with PKCE);
 *                   without it the console is skipped and an output says so
 *   consoleScopes   with jwtIssuer: scopes the console asks for, comma- or space-separated (default openid email profile)
 *   consoleLogoutUrl with jwtIssuer: where "Sign out" goes (default: your IdP's end_session_endpoint)
 *   consoleWebAclArn a WAF web ACL (CLOUDFRONT scope) for the console's distribution
 *   consoleDomain, consoleCertificateArn  a custom domain for the console and its ACM certificate (us-east-1);
 *                   TLSv1.2_2021 then, and the CSP names the API and upload bucket exactly
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
const list = (value: string | undefined, separator: RegExp = /,/): string[] | undefined => value?.split(separator).map((s) => s.trim()).filter(Boolean);

/** Builds the console (only when its sources are newer than the last build) and returns its dist directory. */
async function builtConsole(): Promise<string> {
  // Resolved at run time: the build module is the console's, and synthesis without it is `-c console=false`.
  const buildModule = fileURLToPath(new URL('./console/build.ts', import.meta.url));
  if (!existsSync(buildModule)) throw new Error(`${buildModule} is missing: the console cannot be built; synthesize with -c console=false to deploy without it`);
  const { buildConsole } = (await import(buildModule)) as { buildConsole: (options: { force?: boolean }) => Promise<string> };
  return buildConsole({});
}

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
  console:
    String(app.node.tryGetContext('console')) === 'false'
      ? false
      : {
          assetsDir: await builtConsole(),
          authDomainPrefix: ctx('consoleAuthDomainPrefix'),
          clientId: ctx('consoleClientId'),
          scopes: list(ctx('consoleScopes'), /[\s,]+/),
          logoutUrl: ctx('consoleLogoutUrl'),
          webAclArn: ctx('consoleWebAclArn'),
          domain: ctx('consoleDomain'),
          certificateArn: ctx('consoleCertificateArn'),
        },
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
