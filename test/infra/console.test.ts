import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, test } from 'vitest';
import { CONSOLE_ROUTE_REWRITE } from '../../infra/console/console.ts';
import { API_BROWSER_CORS, consoleContentSecurityPolicy, consoleSecurityHeaders } from '../../infra/console/headers.ts';
import { CONSOLE_FIXTURE_DIR, synthTemplate, unsynthesizedStack } from '../helpers/stack.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: string | string[]; DeletionPolicy?: string }>;

const { template, stack } = synthTemplate();
const resources = template.toJSON().Resources as Resources;
const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
const idOf = (type: string, where: (r: Resources[string], id: string) => boolean = () => true): string => {
  const found = Object.entries(resources).filter(([id, r]) => r.Type === type && where(r, id));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]![0];
};
const distributionId = idOf('AWS::CloudFront::Distribution');
const consoleBucketId = stack.getLogicalId(stack.console!.bucket.node.defaultChild as CfnResource);
const distributionDomain = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] };

/** The config.json the shell deployment uploads, with each deploy-time marker replaced by what the template substitutes for it. */
function deployedConfig(t: Template, s: Stack): Record<string, unknown> {
  const all = t.toJSON().Resources as Resources;
  const [, shell] = Object.entries(all).find(([id, r]) => r.Type === 'Custom::CDKBucketDeployment' && id.startsWith('ConsoleDeployShell'))!;
  const keys = shell.Properties.SourceObjectKeys as string[];
  const markers = shell.Properties.SourceMarkers as Array<Record<string, unknown>>;
  const assemblyDir = (s.node.root as App).synth().directory;
  for (const [i, key] of keys.entries()) {
    const file = path.join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`, 'config.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const substitute = (value: unknown): unknown =>
      typeof value === 'string'
        ? value.replace(/<<marker:0xbaba:\d+>>/g, (marker) => `@@${JSON.stringify(markers[i]![marker])}@@`)
        : Array.isArray(value)
          ? value.map(substitute)
          : value && typeof value === 'object'
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]))
            : value;
    return substitute(JSON.parse(text)) as Record<string, unknown>;
  }
  throw new Error('no config.json among the shell deployment sources');
}

describe('security headers (one definition for CloudFront and the local server)', () => {
  const sources = { apiUrl: 'https://api.example.com', authOrigins: ['https://auth.example.com', 'https://cognito-idp.eu-west-1.amazonaws.com'], uploadOrigins: ['https://bucket.s3.eu-west-1.amazonaws.com'] };

  test('the CSP: scripts from self only, inline styles for report frames, connections to the API, the IdP and uploads only, never framed', () => {
    expect(consoleContentSecurityPolicy(sources)).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "connect-src 'self' https://api.example.com https://auth.example.com https://cognito-idp.eu-west-1.amazonaws.com https://bucket.s3.eu-west-1.amazonaws.com; " +
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'",
    );
    // The local dev identity needs no IdP: the API alone, each origin once.
    expect(consoleContentSecurityPolicy({ apiUrl: 'http://127.0.0.1:3000', authOrigins: ['http://127.0.0.1:3000'] })).toContain("connect-src 'self' http://127.0.0.1:3000; ");
  });

  test('HSTS for two years with subdomains, nosniff, no referrer, DENY; the local server can leave HSTS out', () => {
    expect(consoleSecurityHeaders(sources)).toEqual({
      'content-security-policy': consoleContentSecurityPolicy(sources),
      'strict-transport-security': 'max-age=63072000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    const local = consoleSecurityHeaders(sources, { hsts: false });
    expect(Object.keys(local).sort()).toEqual(['content-security-policy', 'referrer-policy', 'x-content-type-options', 'x-frame-options']);
  });

  test('a source that would add a directive or keyword is refused, naming the field and index', () => {
    expect(() => consoleContentSecurityPolicy({ ...sources, apiUrl: "https://api.example.com; script-src 'unsafe-eval'" })).toThrow(/apiUrl\[0\]/);
    expect(() => consoleContentSecurityPolicy({ ...sources, authOrigins: ['https://ok.example.com', 'https://a.example.com https://evil.example.net'] })).toThrow(/authOrigins\[1\]/);
    expect(() => consoleContentSecurityPolicy({ ...sources, uploadOrigins: ["'unsafe-inline'"] })).toThrow(/uploadOrigins\[0\]/);
    // No apiUrl (the API on the console's own origin, as deployed): 'self' covers it.
    expect(consoleContentSecurityPolicy({ authOrigins: [] })).toContain("connect-src 'self'; ");
    expect(() => consoleContentSecurityPolicy({ ...sources, authOrigins: ['https://a.example.com,https://b.example.com'] })).toThrow(/authOrigins\[0\]/);
  });
});

describe('the route rewrite (CloudFront Function)', () => {
  const handler = new Function(`${CONSOLE_ROUTE_REWRITE}; return handler;`)() as (event: { request: { uri: string } }) => { uri: string };
  test.each([
    ['/', '/index.html'],
    ['/campaigns', '/index.html'],
    ['/campaigns/0f1e2d', '/index.html'],
    ['/auth/callback', '/index.html'],
    ['/contacts/', '/index.html'],
    ['/index.html', '/index.html'],
    ['/config.json', '/config.json'],
    ['/assets/app-3f2a1b.js', '/assets/app-3f2a1b.js'],
    ['/assets/missing.css', '/assets/missing.css'],
    ['/favicon.svg', '/favicon.svg'],
  ])('%s → %s', (uri, expected) => {
    expect(handler({ request: { uri } }).uri).toBe(expected);
  });
});

describe('console hosting', () => {
  test('the bucket is private, SSE-S3, TLS only, deleted with the stack without an auto-delete custom resource', () => {
    expect(resources[consoleBucketId]).toMatchObject({
      Properties: {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      },
      DeletionPolicy: 'Delete',
    });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  test('the bucket policy lets only this distribution read objects (cloudfront.amazonaws.com, AWS:SourceArn), and refuses plain HTTP', () => {
    const policy = Object.values(resources).find((r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties.Bucket) === JSON.stringify({ Ref: consoleBucketId }))!;
    const statements = (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [consoleBucketId, 'Arn'] }, '/*']] },
        Condition: { StringEquals: { 'AWS:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distributionId }]] } } },
      },
    ]);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
  });

  test('the distribution: the bucket through an origin access control, HTTPS only, cached, HTTP/2 and 3, index.html at the root, the rewrite on viewer requests', () => {
    const oacId = idOf('AWS::CloudFront::OriginAccessControl');
    expect(resources[oacId]!.Properties.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    const functionId = idOf('AWS::CloudFront::Function');
    expect(resources[functionId]!.Properties).toMatchObject({ FunctionCode: CONSOLE_ROUTE_REWRITE, FunctionConfig: { Runtime: 'cloudfront-js-2.0' } });
    const config = resources[distributionId]!.Properties.DistributionConfig as Record<string, unknown>;
    expect(config).toMatchObject({
      DefaultRootObject: 'index.html',
      HttpVersion: 'http2and3',
      Origins: expect.arrayContaining([expect.objectContaining({ DomainName: { 'Fn::GetAtt': [consoleBucketId, 'RegionalDomainName'] }, OriginAccessControlId: { 'Fn::GetAtt': [oacId, 'Id'] } })]),
      DefaultCacheBehavior: {
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
        CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6', // Managed-CachingOptimized
        ResponseHeadersPolicyId: { Ref: idOf('AWS::CloudFront::ResponseHeadersPolicy') },
        FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } }],
      },
    });
    // No WAF, custom domain or certificate unless asked for.
    expect(config.WebACLId).toBeUndefined();
    expect(config.Aliases).toBeUndefined();
  });

  test('/v1/* goes to the HTTP API on the same origin: never cached, every method, the viewer\'s headers (Authorization) and query, HTTPS only, no rewrite', () => {
    const config = resources[distributionId]!.Properties.DistributionConfig as { Origins: Array<Record<string, unknown>>; CacheBehaviors: Array<Record<string, unknown>> };
    const apiId = idOf('AWS::ApiGatewayV2::Api');
    const apiOrigin = config.Origins.find((o) => JSON.stringify(o.DomainName).includes(apiId))!;
    expect(apiOrigin).toBeDefined();
    expect(stack.resolve(apiOrigin.DomainName)).toEqual({ 'Fn::Join': ['', [{ Ref: apiId }, '.execute-api.us-east-1.', { Ref: 'AWS::URLSuffix' }]] });
    expect(apiOrigin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });
    expect(config.CacheBehaviors).toHaveLength(1);
    expect(config.CacheBehaviors[0]).toMatchObject({
      PathPattern: '/v1/*',
      TargetOriginId: apiOrigin.Id,
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader
    });
    expect(config.CacheBehaviors[0]!.FunctionAssociations).toBeUndefined();
  });

  test("the response headers policy carries headers.ts: the CSP (the API is 'self'; only the Cognito domains besides), HSTS, nosniff, no referrer, DENY", () => {
    const headers = (resources[idOf('AWS::CloudFront::ResponseHeadersPolicy')]!.Properties.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, unknown> }).SecurityHeadersConfig;
    expect(headers).toMatchObject({
      StrictTransportSecurity: { AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true },
      ContentTypeOptions: { Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
    });
    const csp = stack.resolve((headers.ContentSecurityPolicy as { ContentSecurityPolicy: unknown }).ContentSecurityPolicy) as { 'Fn::Join': [string, unknown[]] };
    const text = csp['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part)}>`)).join('');
    const domainId = idOf('AWS::Cognito::UserPoolDomain');
    expect(text).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        `connect-src 'self' https://<{"Ref":"${domainId}"}>.auth.us-east-1.amazoncognito.com https://cognito-idp.us-east-1.amazonaws.com; ` +
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'",
    );
  });

  test('two deployments, no invalidation: hashed assets immutable and never pruned, then index.html and config.json with no-cache', () => {
    const deployments = Object.entries(resources).filter(([, r]) => r.Type === 'Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(2);
    const [assetsId, assets] = deployments.find(([id]) => id.startsWith('ConsoleDeployAssets'))!;
    const [, shell] = deployments.find(([id]) => id.startsWith('ConsoleDeployShell'))!;
    expect(assets.Properties).toMatchObject({ DestinationBucketName: { Ref: consoleBucketId }, DestinationBucketKeyPrefix: 'assets/', Prune: false, SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' } });
    expect(shell.Properties).toMatchObject({ DestinationBucketName: { Ref: consoleBucketId }, Prune: false, SystemMetadata: { 'cache-control': 'no-cache' } });
    expect(shell.Properties.DestinationBucketKeyPrefix).toBeUndefined();
    expect([shell.DependsOn].flat()).toContain(assetsId);
    for (const [, d] of deployments) expect(d.Properties.DistributionId).toBeUndefined();
  });

  test('the uploaded files: assets/ under assets/; index.html and the other top-level files (no-cache), but not the build stamp, Vite\'s manifest or a config.json of the build', () => {
    const assemblyDir = (stack.node.root as App).synth().directory;
    const filesOf = (idPrefix: string) => {
      const [, d] = Object.entries(resources).find(([id, r]) => r.Type === 'Custom::CDKBucketDeployment' && id.startsWith(idPrefix))!;
      return (d.Properties.SourceObjectKeys as string[]).map((key) => path.join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`));
    };
    const [assetsDir] = filesOf('ConsoleDeployAssets');
    expect(readdirSync(assetsDir!, { recursive: true })).toEqual(['app.js']);
    expect(readFileSync(path.join(assetsDir!, 'app.js'), 'utf8')).toBe(readFileSync(path.join(CONSOLE_FIXTURE_DIR, 'assets', 'app.js'), 'utf8'));
    // The fixture has .stamp, .vite/manifest.json and a dev config.json beside index.html and favicon.svg.
    const [buildDir, configDir] = filesOf('ConsoleDeployShell');
    expect(readdirSync(buildDir!, { recursive: true }).sort()).toEqual(['favicon.svg', 'index.html']);
    expect(readFileSync(path.join(buildDir!, 'index.html'), 'utf8')).toContain('/assets/app.js');
    expect(readdirSync(configDir!)).toEqual(['config.json']);
  });

  test("config.json tells the console the API is on its own origin and how to sign in: Cognito as the OIDC authority, the console client, its scopes, Cognito's logout", () => {
    const config = deployedConfig(template, stack);
    const clientId = idOf('AWS::Cognito::UserPoolClient', (_, id) => id.startsWith('MarketersConsoleClient'));
    const domainId = idOf('AWS::Cognito::UserPoolDomain');
    const poolId = idOf('AWS::Cognito::UserPool');
    const marker = (value: unknown) => `@@${JSON.stringify(value)}@@`;
    expect(config).toEqual({
      apiUrl: '',
      auth: {
        mode: 'oidc',
        authority: `https://cognito-idp.us-east-1.amazonaws.com/${marker({ Ref: poolId })}`,
        clientId: marker({ Ref: clientId }),
        scopes: ['openid', 'email', 'profile'],
        logoutUrl: `https://${marker({ Ref: domainId })}.auth.us-east-1.amazoncognito.com/logout?client_id=${marker({ Ref: clientId })}&logout_uri=https%3A%2F%2F${marker({ 'Fn::GetAtt': [distributionId, 'DomainName'] })}%2F`,
      },
    });
  });

  test('outputs: the console URL and its sign-in callback', () => {
    expect(outputs.ConsoleUrl!.Value).toEqual(distributionDomain);
    expect(outputs.ConsoleCallbackUrl!.Value).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/auth/callback']] });
    expect(outputs.ConsoleSkipped).toBeUndefined();
  });

  test('a directory that is not a built console is refused at synthesis', () => {
    expect(() => unsynthesizedStack({ console: { assetsDir: path.join(CONSOLE_FIXTURE_DIR, 'assets') } })).toThrow(/is not a built console: it needs index.html and an assets\/ directory/);
  });
});

describe('console sign-in with Cognito', () => {
  const clientId = idOf('AWS::Cognito::UserPoolClient', (_, id) => id.startsWith('MarketersConsoleClient'));
  const apiClientId = idOf('AWS::Cognito::UserPoolClient', (_, id) => id.startsWith('MarketersApiClient'));

  test('a hosted sign-in domain named touchloop-<stack GUID>, or the prefix given', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      Domain: { 'Fn::Join': ['', ['touchloop-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]] },
      UserPoolId: { Ref: idOf('AWS::Cognito::UserPool') },
    });
    synthTemplate({ console: { assetsDir: CONSOLE_FIXTURE_DIR, authDomainPrefix: 'acme-marketing' } }).template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'acme-marketing' });
  });

  test.each(['acme-aws', 'Acme', '-acme', 'acme-', 'acme_marketing', 'my-cognito', 'a'.repeat(64)])('the domain prefix %s is refused at synthesis', (prefix) => {
    expect(() => unsynthesizedStack({ console: { assetsDir: CONSOLE_FIXTURE_DIR, authDomainPrefix: prefix } })).toThrow(/authDomainPrefix/);
  });

  test('the console client: no secret, the code grant only (no password or SRP sign-in), openid email profile, its callback and logout URLs, 1 h access, 12 h refresh', () => {
    expect(resources[clientId]!.Properties).toEqual({
      UserPoolId: { Ref: idOf('AWS::Cognito::UserPool') },
      GenerateSecret: false,
      ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      CallbackURLs: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/auth/callback']] }],
      LogoutURLs: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/']] }],
      SupportedIdentityProviders: ['COGNITO'],
      PreventUserExistenceErrors: 'ENABLED',
      AccessTokenValidity: 60,
      IdTokenValidity: 60,
      RefreshTokenValidity: 720,
      TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
    });
  });

  test('the authorizer accepts tokens of both clients, and only those', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Audience: [{ Ref: apiClientId }, { Ref: clientId }], Issuer: Match.anyValue() },
    });
  });

  test('settings for your own IdP are refused with Cognito', () => {
    for (const extra of [{ clientId: 'abc' }, { scopes: ['openid'] }, { logoutUrl: 'https://idp.example.com/logout' }]) {
      expect(() => unsynthesizedStack({ console: { assetsDir: CONSOLE_FIXTURE_DIR, ...extra } })).toThrow(/is for your own IdP/);
    }
  });
});

describe('no CORS for the console (it calls the API on its own origin)', () => {
  test('the API has no CORS configuration and the imports bucket none either, unless corsAllowOrigins lists browser origins', () => {
    expect(Object.values(template.findResources('AWS::ApiGatewayV2::Api'))[0]!.Properties.CorsConfiguration).toBeUndefined();
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) expect(bucket.Properties.CorsConfiguration).toBeUndefined();
    const withMore = synthTemplate({ corsAllowOrigins: ['https://admin.example.com'] }).template;
    withMore.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: ['https://admin.example.com'],
        AllowHeaders: [...API_BROWSER_CORS.allowHeaders],
        AllowMethods: ['*'],
        ExposeHeaders: [...API_BROWSER_CORS.exposeHeaders],
        MaxAge: 3600,
      },
    });
    withMore.hasResourceProperties('AWS::S3::Bucket', { CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: ['https://admin.example.com'] })] } });
  });

  test('without the console: no distribution, no sign-in domain, one client', () => {
    const none = synthTemplate({ console: false }).template;
    none.resourceCountIs('AWS::CloudFront::Distribution', 0);
    none.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
    none.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
  });
});

describe('your own IdP', () => {
  const issuer = 'https://login.example.com/tenant-1/v2.0';

  test('without consoleClientId the console is skipped, and an output says why', () => {
    const { template: own } = synthTemplate({ jwtIssuer: issuer, jwtAudience: ['touchloop'] });
    own.resourceCountIs('AWS::CloudFront::Distribution', 0);
    own.resourceCountIs('Custom::CDKBucketDeployment', 0);
    expect(Object.keys(own.findResources('AWS::S3::Bucket'))).toHaveLength(3); // imports, learning and the event stream
    own.hasOutput('ConsoleSkipped', { Value: Match.stringLikeRegexp('consoleClientId') });
    expect(Object.values(own.findResources('AWS::ApiGatewayV2::Api'))[0]!.Properties.CorsConfiguration).toBeUndefined();
  });

  test('with consoleClientId: the console signs in at the issuer with that client; the CSP names the issuer\'s origin; no Cognito', () => {
    const s = unsynthesizedStack({ jwtIssuer: issuer, jwtAudience: ['touchloop'], console: { assetsDir: CONSOLE_FIXTURE_DIR, clientId: 'console-client', scopes: ['openid', 'email', 'api://touchloop/marketer'], logoutUrl: 'https://login.example.com/logout' } });
    const own = Template.fromStack(s);
    own.resourceCountIs('AWS::Cognito::UserPool', 0);
    own.resourceCountIs('AWS::CloudFront::Distribution', 1);
    own.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Audience: ['touchloop'], Issuer: issuer } });
    expect(deployedConfig(own, s)).toMatchObject({
      auth: { mode: 'oidc', authority: issuer, clientId: 'console-client', scopes: ['openid', 'email', 'api://touchloop/marketer'], logoutUrl: 'https://login.example.com/logout' },
    });
    const policy = JSON.stringify(Object.values(own.findResources('AWS::CloudFront::ResponseHeadersPolicy'))[0]);
    expect(policy).toContain("connect-src 'self' https://login.example.com;");
    expect(policy).not.toContain('amazoncognito.com');
    const defaults = unsynthesizedStack({ jwtIssuer: issuer, jwtAudience: ['touchloop'], console: { assetsDir: CONSOLE_FIXTURE_DIR, clientId: 'console-client' } });
    const config = deployedConfig(Template.fromStack(defaults), defaults) as { auth: Record<string, unknown> };
    expect(config.auth.scopes).toEqual(['openid', 'email', 'profile']);
    expect('logoutUrl' in config.auth).toBe(false);
  });

  test('a Cognito domain prefix, or an issuer that is not https, is refused', () => {
    expect(() => unsynthesizedStack({ jwtIssuer: issuer, jwtAudience: ['touchloop'], console: { assetsDir: CONSOLE_FIXTURE_DIR, clientId: 'c', authDomainPrefix: 'acme' } })).toThrow(/authDomainPrefix/);
    expect(() => unsynthesizedStack({ jwtIssuer: 'http://login.example.com/', jwtAudience: ['touchloop'], console: { assetsDir: CONSOLE_FIXTURE_DIR, clientId: 'c' } })).toThrow(/not an https URL/);
  });
});

describe('a custom domain and a WAF', () => {
  const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  const webAclArn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/console/0f1e2d3c';
  const { template: custom } = synthTemplate({ console: { assetsDir: CONSOLE_FIXTURE_DIR, domain: 'console.example.com', certificateArn, webAclArn } });

  test('the distribution answers on the domain with TLSv1.2_2021 and the web ACL; sign-in names the domain', () => {
    custom.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['console.example.com'],
        ViewerCertificate: { AcmCertificateArn: certificateArn, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
        WebACLId: webAclArn,
      }),
    });
    custom.hasResourceProperties('AWS::Cognito::UserPoolClient', { CallbackURLs: ['https://console.example.com/auth/callback'], LogoutURLs: ['https://console.example.com/'] });
    custom.hasOutput('ConsoleUrl', { Value: 'https://console.example.com' });
  });

  test('a domain without its certificate (or the reverse) is refused', () => {
    expect(() => unsynthesizedStack({ console: { assetsDir: CONSOLE_FIXTURE_DIR, domain: 'console.example.com' } })).toThrow(/go together/);
    expect(() => unsynthesizedStack({ console: { assetsDir: CONSOLE_FIXTURE_DIR, certificateArn } })).toThrow(/go together/);
  });
});

describe('deployability', () => {
  const variants: Array<[string, Resources]> = [
    ['default', resources],
    ['custom domain', synthTemplate({ console: { assetsDir: CONSOLE_FIXTURE_DIR, domain: 'console.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' } }).template.toJSON().Resources as Resources],
    ['own IdP', synthTemplate({ jwtIssuer: 'https://login.example.com/', jwtAudience: ['touchloop'], console: { assetsDir: CONSOLE_FIXTURE_DIR, clientId: 'c' } }).template.toJSON().Resources as Resources],
  ];

  test.each(variants)('%s: within CloudFormation\'s 500 resources per stack', (name, all) => {
    expect(Object.keys(all).length, name).toBeLessThanOrEqual(500);
  });

  test('each variant was read with Template.fromStack, which refuses a dependency cycle (the distribution names the API as its /v1 origin, so the API must not name the distribution)', () => {
    const s = new Stack(new App(), 'Cycle');
    const a = new CfnBucket(s, 'A');
    const b = new CfnBucket(s, 'B', { bucketName: a.ref });
    a.addPropertyOverride('BucketName', b.ref);
    expect(() => Template.fromStack(s)).toThrow(/dependency cycle: A -> B -> A/);
  });
});
