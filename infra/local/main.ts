import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../paths.ts';
import { buildConsole } from '../console/build.ts';
import { JavaMissingError } from './dynamodb-local.ts';
import { topology } from '../topology.ts';
import { withScheduleOverrides } from '../topology-types.ts';
import { LocalRuntime } from './runtime.ts';

/**
 * `npm start`: the whole pipeline on this machine. Options:
 *   --port <n>     API port (default 3000, or PORT)
 *   --host <h>     bind address (default 127.0.0.1)
 *   --persist      keep DynamoDB data under .touchloop/dynamodb (and import files under .touchloop/s3) between runs
 *   --console-port <n>  the console's port (default: the API port + 1)
 * TOUCHLOOP_STATE_DIR moves .touchloop/ (dev token, key, persisted data) elsewhere.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    persist: { type: 'boolean', default: false },
    'console-port': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log('Usage: npm start -- [--port 3000] [--console-port 3001] [--host 127.0.0.1] [--persist]');
  process.exit(0);
}

const stateDir = process.env.TOUCHLOOP_STATE_DIR ?? path.join(repoRoot, '.touchloop');
const port = Number(values.port ?? process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(2);
}
const consolePort = values['console-port'] === undefined ? undefined : Number(values['console-port']);
if (consolePort !== undefined && (!Number.isInteger(consolePort) || consolePort < 0 || consolePort > 65535 || consolePort === port)) {
  console.error(`--console-port must be a port number other than the API's, got ${values['console-port']}`);
  process.exit(2);
}

let runtime: LocalRuntime | undefined;
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping Touchloop…`);
  await runtime?.stop();
  console.log('stopped.');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  const started = Date.now();
  // The console is rebuilt only when its sources (console/, shared/, events/) changed since the last build.
  const consoleDir = await buildConsole({ log: (line) => console.log(line) });
  runtime = await LocalRuntime.start({
    console: { distDir: consoleDir, ...(consolePort === undefined ? {} : { port: consolePort }) },
    apiPort: port,
    host: values.host ?? '127.0.0.1',
    persistDir: values.persist ? path.join(stateDir, 'dynamodb') : undefined,
    objectsDir: values.persist ? path.join(stateDir, 's3') : undefined,
    stateDir,
    // The same knobs as the CDK context values attributionSchedule / attributionTimezone.
    topology: withScheduleOverrides(topology, { 'nightly-attribution': { expression: process.env.ATTRIBUTION_SCHEDULE, timezone: process.env.ATTRIBUTION_TIMEZONE } }),
  });
  if (stopping) await runtime.stop();
  const u = runtime.urls;
  console.log(`
Touchloop local runtime is up (${((Date.now() - started) / 1000).toFixed(1)} s)${values.persist ? ', data kept in .touchloop/dynamodb' : ', data in memory'}

  Console        ${u.console}          (signed in as local-marketer, the dev identity)
  API            ${u.api}          (health: ${u.api}/health)
  DynamoDB Local ${u.dynamodb}
  SES (local)    ${u.ses}          inbox: ${u.sesInbox}
  SMS sink       ${u.sms}          JSON: ${u.sms}/messages
  AWS endpoint   ${u.aws}          (EventBridge, SQS, Scheduler)

Dev API token (also in .touchloop/dev-token, valid 12 h):
${runtime.devToken}

Try:  curl -s ${u.api}/health
      curl -s -H "Authorization: Bearer $(cat .touchloop/dev-token)" -H 'content-type: application/json' \\
           -d '{"email":"ada@example.com","attributes":{"firstName":"Ada"}}' ${u.api}/v1/contacts

Ctrl-C stops everything.`);
  if (!existsSync(path.join(stateDir, 'dev-token'))) console.warn('warning: could not write .touchloop/dev-token');
} catch (error) {
  if (error instanceof JavaMissingError) {
    console.error(`\n${error.message}\n`);
  } else {
    console.error('Touchloop failed to start:', error);
  }
  await runtime?.stop();
  process.exit(1);
}
