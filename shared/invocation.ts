import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'aws-lambda';

/**
 * The invocation running now, when several functions share one process. On Lambda a process runs
 * one function (its name is POWERTOOLS_SERVICE_NAME) and this stays empty; the local runtime runs
 * every function in one process, concurrently, and runs each invocation inside it, so a log line
 * names the function and request it came from — not the first function that loaded the logger,
 * nor whichever invocation last called `addContext`. (Kept apart from logger.ts: importing this
 * creates no logger, whose settings are read from the environment when it is created.)
 */
export const currentInvocation = new AsyncLocalStorage<Context>();
