import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy, Stack, type CfnElement } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  Distribution,
  Function as CloudFrontFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
  type ResponseSecurityHeadersBehavior,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { consoleSecurityHeaders, HSTS_MAX_AGE_SECONDS, type ConsoleHeaderSources, type ConsoleHeaders } from './headers.ts';

/** What the console reads from /config.json on AWS (the local runtime serves `{ apiUrl: '', auth: { mode: 'local' } }`). */
export interface ConsoleConfig {
  /** '' : the API is on the console's own origin (the `/v1/*` behaviour). */
  apiUrl: string;
  auth: {
    mode: 'oidc';
    /** The OIDC issuer: discovery is `<authority>/.well-known/openid-configuration`. */
    authority: string;
    clientId: string;
    scopes: string[];
    /** Where "Sign out" goes after clearing the session, as is (Cognito's full /logout URL); absent: the IdP's end_session_endpoint. */
    logoutUrl?: string;
  };
}

export interface ConsoleProps {
  /** The built console (Vite's dist): index.html at the top, hashed files under assets/. */
  assetsDir: string;
  /**
   * The HTTP API's host (`<id>.execute-api.<region>.amazonaws.com`): the distribution passes
   * `/v1/*` to it, so the console calls the API on its own origin (no CORS, CSP `connect-src 'self'`).
   */
  apiDomainName: string;
  /** The origins the console may connect to, for its Content-Security-Policy. */
  headers: ConsoleHeaderSources;
  /** A WAF web ACL (CLOUDFRONT scope, in us-east-1) for the distribution. */
  webAclArn?: string;
  /** A custom domain with its ACM certificate (us-east-1); the viewer policy then becomes TLSv1.2_2021. */
  domain?: { name: string; certificateArn: string };
}

/**
 * Rewrites a path whose last segment has no file extension to /index.html, so the console's client
 * routes (/campaigns/123, /auth/callback) load the app while a missing asset stays a 403 from S3
 * rather than becoming the app with a 200. cloudfront-js-2.0, viewer request; `request.uri` has no
 * query string.
 */
export const CONSOLE_ROUTE_REWRITE = `function handler(event) {
  var request = event.request;
  var last = request.uri.substring(request.uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}`;

/** Files under assets/ carry a content hash in their names: cache them for a year. */
const IMMUTABLE = CacheControl.fromString('public, max-age=31536000, immutable');

/**
 * The marketers' console on AWS: a private bucket read by CloudFront through an origin access
 * control, served over HTTPS only with the console's security headers. `publish(config)` uploads
 * the build and its config.json; it is separate because the config names things (the sign-in
 * client's callback URL) that depend on the distribution's domain.
 */
export class Console extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** The console's host name: the custom domain if given, else the distribution's. */
  readonly domainName: string;
  /** `https://<domainName>`, the console's origin. */
  readonly url: string;
  private readonly assetsDir: string;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    this.assetsDir = checkedAssetsDir(props.assetsDir);

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // SSE-S3: an origin access control reads it with no key policy to maintain.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Only build output lives here, rebuilt by every deployment. Deleting a stack with a non-empty
      // bucket fails; that is preferred to one more custom resource (autoDeleteObjects) per stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    NagSuppressions.addResourceSuppressions(this.bucket, [
      {
        id: 'AwsSolutions-S1',
        reason: 'The console bucket holds only the built static console (the same files for everyone, no data); it is private and read solely by CloudFront through an origin access control, and who did what is recorded in the API\'s access logs.',
      },
    ]);

    const headersPolicy = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Touchloop console: CSP, HSTS, nosniff, no referrer, no framing',
      securityHeadersBehavior: securityHeadersBehavior(consoleSecurityHeaders(props.headers)),
    });
    const routeRewrite = new CloudFrontFunction(this, 'RouteRewrite', {
      comment: 'Client routes without a file extension load /index.html',
      runtime: FunctionRuntime.JS_2_0,
      code: FunctionCode.fromInline(CONSOLE_ROUTE_REWRITE),
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `${Stack.of(this).stackName} marketers' console`,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      webAclId: props.webAclArn,
      ...(props.domain
        ? {
            domainNames: [props.domain.name],
            certificate: Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headersPolicy,
        functionAssociations: [{ function: routeRewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        // The marketer API on the console's origin: never cached, every method, the viewer's headers
        // (Authorization among them: allowed in an origin request policy when caching is off) and
        // query string passed on; the API's own answers and headers come back unchanged.
        '/v1/*': {
          origin: new HttpOrigin(props.apiDomainName, { protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY }),
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          cachePolicy: CachePolicy.CACHING_DISABLED,
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        },
      },
    });
    this.domainName = props.domain?.name ?? this.distribution.distributionDomainName;
    this.url = `https://${this.domainName}`;

    const suppressions = [
      { id: 'AwsSolutions-CFR1', reason: 'No geo restriction: marketers sign in from wherever they travel, and the console is static files; the API behind it authenticates every request.' },
      { id: 'AwsSolutions-CFR3', reason: 'No CloudFront access logs: the distribution serves only the static console, the same files to everyone; who did what is in the API\'s access logs.' },
      ...(props.webAclArn
        ? []
        : [{ id: 'AwsSolutions-CFR2', reason: 'No WAF by default: the distribution serves static files only and the API keeps its own throttles; attach a web ACL with -c consoleWebAclArn=<arn>.' }]),
      ...(props.domain
        ? []
        : [{ id: 'AwsSolutions-CFR4', reason: 'The default *.cloudfront.net certificate pins the TLSv1 security policy; -c consoleDomain and -c consoleCertificateArn serve the console on a custom domain with TLSv1.2_2021.' }]),
    ];
    NagSuppressions.addResourceSuppressions(this.distribution, suppressions);
  }

  /**
   * Uploads the build: hashed assets first (immutable, never pruned, so a tab still running the
   * previous build finds its chunks), then index.html, the other top-level files and config.json
   * (no-cache, so a new build is picked up on the next load). No CloudFront invalidation is needed.
   */
  publish(config: ConsoleConfig): void {
    const assets = new BucketDeployment(this, 'DeployAssets', {
      sources: [Source.asset(path.join(this.assetsDir, 'assets'))],
      destinationBucket: this.bucket,
      destinationKeyPrefix: 'assets/',
      cacheControl: [IMMUTABLE],
      prune: false,
    });
    const shell = new BucketDeployment(this, 'DeployShell', {
      sources: [
        // The build stamp and Vite's manifest are build bookkeeping; config.json is the deployment's own.
        Source.asset(this.assetsDir, { exclude: ['assets', '.stamp', '.vite', 'config.json'] }),
        Source.jsonData('config.json', config),
      ],
      destinationBucket: this.bucket,
      cacheControl: [CacheControl.noCache()],
      // Pruning here would delete assets/ (the other deployment's files).
      prune: false,
    });
    // index.html names chunks that must already be there.
    shell.node.addDependency(assets);
    this.suppressDeploymentFindings(assets);
  }

  /** CDK's BucketDeployment runs one handler per stack; its role and runtime are CDK's, not ours. */
  private suppressDeploymentFindings(deployment: BucketDeployment): void {
    const stack = Stack.of(this);
    const bucketArn = `Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>`;
    NagSuppressions.addResourceSuppressions(
      deployment.handlerRole,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason: "CDK's BucketDeployment handler (runs only at deploy time to copy the console build into its bucket) comes with the AWSLambdaBasicExecutionRole managed policy, which grants writing its own logs and nothing else.",
          appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "CDK's BucketDeployment grants its handler read on the CDK asset bucket's objects and read-write on the console bucket's objects (object and multipart actions on <bucket>/*); the console bucket holds nothing but the build, and the role is assumed only by that deploy-time handler.",
          appliesTo: [
            'Action::s3:GetObject*',
            'Action::s3:GetBucket*',
            'Action::s3:List*',
            'Action::s3:DeleteObject*',
            'Action::s3:Abort*',
            `${bucketArn}/*`,
            // CDK's bootstrap asset bucket, named by account and region (literal when the stack's env is).
            { regex: '/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-(<AWS::AccountId>|\\d{12})-(<AWS::Region>|[a-z0-9-]+)\\/\\*$/' },
          ],
        },
      ],
      true,
    );
    const handler = stack.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (handler) {
      NagSuppressions.addResourceSuppressions(handler, [
        { id: 'AwsSolutions-L1', reason: "CDK's BucketDeployment handler runtime is chosen by aws-cdk-lib (a Python runtime with the AWS CLI layer) and moves with CDK upgrades; it runs only at deploy time." },
      ]);
    }
  }
}

function checkedAssetsDir(dir: string): string {
  const resolved = path.resolve(dir);
  if (!existsSync(path.join(resolved, 'index.html')) || !existsSync(path.join(resolved, 'assets')) || !statSync(path.join(resolved, 'assets')).isDirectory()) {
    throw new Error(`console assetsDir ${resolved} is not a built console: it needs index.html and an assets/ directory (build it, or deploy with -c console=false)`);
  }
  return resolved;
}

/** Maps the one header definition (headers.ts) onto CloudFront's typed policy; a header it cannot map stops synthesis. */
function securityHeadersBehavior(headers: ConsoleHeaders): ResponseSecurityHeadersBehavior {
  const behavior: { -readonly [K in keyof ResponseSecurityHeadersBehavior]: ResponseSecurityHeadersBehavior[K] } = {};
  for (const [name, value] of Object.entries(headers)) {
    switch (name) {
      case 'content-security-policy':
        behavior.contentSecurityPolicy = { contentSecurityPolicy: value, override: true };
        break;
      case 'strict-transport-security':
        if (value !== `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains`) throw new Error(`console headers: unexpected ${name} ${value}`);
        behavior.strictTransportSecurity = { accessControlMaxAge: Duration.seconds(HSTS_MAX_AGE_SECONDS), includeSubdomains: true, override: true };
        break;
      case 'x-content-type-options':
        if (value !== 'nosniff') throw new Error(`console headers: unexpected ${name} ${value}`);
        behavior.contentTypeOptions = { override: true };
        break;
      case 'referrer-policy':
        behavior.referrerPolicy = { referrerPolicy: enumValue(HeadersReferrerPolicy, name, value), override: true };
        break;
      case 'x-frame-options':
        behavior.frameOptions = { frameOption: enumValue(HeadersFrameOption, name, value), override: true };
        break;
      default:
        throw new Error(`console headers: ${name} has no mapping onto CloudFront's response headers policy (infra/console/console.ts)`);
    }
  }
  return behavior;
}

function enumValue<T extends Record<string, string>>(values: T, name: string, value: string): T[keyof T] {
  const found = Object.values(values).find((v) => v === value);
  if (found === undefined) throw new Error(`console headers: ${name} ${value} is not one CloudFront offers`);
  return found as T[keyof T];
}
