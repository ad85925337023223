import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { currentInvocation } from '../../shared/invocation.ts';
import type { FunctionDef } from '../topology-types.ts';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export const functionArn = (name: string): string => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;

type Handler = (event: unknown, context: Context) => Promise<unknown>;

export class FunctionTimeoutError extends Error {
  override name = 'FunctionTimeoutError';
}

/**
 * A topology function loaded in-process: the same module and export the Lambda bundle runs,
 * invoked with a Lambda-shaped context and its configured timeout.
 */
export class LocalFunction {
  private handler: Handler | undefined;
  invocations = 0;
  errors = 0;
  /** Wall-clock milliseconds spent in the handler, summed over invocations (benchmarks' Lambda cost model). */
  totalMs = 0;

  constructor(
    readonly name: string,
    readonly def: FunctionDef,
    private readonly repoRoot: string,
  ) {}

  async load(): Promise<void> {
    if (this.handler) return;
    const module = (await import(pathToFileURL(path.join(this.repoRoot, this.def.entry)).href)) as Record<string, unknown>;
    const exported = module[this.def.handler];
    if (typeof exported !== 'function') {
      throw new Error(`${this.def.entry} does not export a function named ${this.def.handler}`);
    }
    this.handler = exported as Handler;
  }

  async invoke(event: unknown): Promise<unknown> {
    await this.load();
    this.invocations++;
    const deadline = Date.now() + this.def.timeoutSeconds * 1000;
    const requestId = randomUUID();
    const context: Context = {
      callbackWaitsForEmptyEventLoop: false,
      functionName: this.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: functionArn(this.name),
      memoryLimitInMB: String(this.def.memoryMb ?? 512),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${this.name}`,
      logStreamName: `local/${requestId}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new FunctionTimeoutError(`${this.name}: Task timed out after ${this.def.timeoutSeconds} seconds`)),
        this.def.timeoutSeconds * 1000,
      );
      timer.unref();
    });
    const started = performance.now();
    try {
      // Log lines written during the invocation carry this function's name and request id (several functions share this process).
      return await Promise.race([currentInvocation.run(context, () => this.handler!(event, context)), timeout]);
    } catch (error) {
      this.errors++;
      throw error;
    } finally {
      clearTimeout(timer);
      this.totalMs += performance.now() - started;
    }
  }
}
