import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Wiring } from '../../infra/local/runtime.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { synthTemplate, wiringFromTemplate } from '../helpers/stack.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

const sorted = (wiring: Wiring): Wiring => {
  const by = <T>(key: (x: T) => string) => (a: T, b: T) => key(a).localeCompare(key(b));
  return {
    routes: [...wiring.routes].sort(by((r) => r.routeKey)),
    queueConsumers: [...wiring.queueConsumers].sort(by((c) => c.queue + c.function)),
    streamConsumers: [...wiring.streamConsumers].sort(by((c) => c.table + c.function)),
    rules: [...wiring.rules].sort(by((r) => r.name)),
    schedules: [...wiring.schedules].sort(by((s) => s.name)),
    tables: [...wiring.tables].sort(),
    buckets: [...wiring.buckets].sort(by((b) => b.name)),
  };
};

test('the CDK template and the local runtime wire the same routes, queue and table-stream consumers, rules, schedules and tables', () => {
  const aws = sorted(wiringFromTemplate(synthTemplate().template));
  const local = sorted(t.runtime.describeWiring());
  expect(local).toEqual(aws);
  // And the comparison is not vacuous.
  expect(aws.routes.length).toBeGreaterThan(0);
  expect(aws.queueConsumers.length).toBeGreaterThan(0);
  expect(aws.streamConsumers.length).toBeGreaterThan(0);
  expect(aws.rules.length).toBeGreaterThan(0);
}, 120_000); // synthesis alone takes 25–35 s on 2 loaded cores
