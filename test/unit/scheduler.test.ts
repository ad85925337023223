import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConflictError, LocalScheduler, MAX_TIMER_DELAY_MS, ScheduleNotFoundError, type LocalSchedule } from '../../infra/local/scheduler.ts';
import { InvalidScheduleExpressionError, InvalidTimeZoneError } from '../../shared/schedule-expression.ts';

const target = { arn: 'arn:aws:lambda:us-east-1:000000000000:function:touchloop-nightly', input: '{"job":"nightly"}' };

interface Harness {
  scheduler: LocalScheduler;
  calls: { name: string; firedAt: string; schedule: LocalSchedule }[];
  errors: { error: unknown; name: string }[];
}

let current: LocalScheduler | undefined;

function harness(invoke?: (schedule: LocalSchedule) => Promise<void>): Harness {
  const calls: Harness['calls'] = [];
  const errors: Harness['errors'] = [];
  const scheduler = new LocalScheduler({
    invoke: async (schedule, firedAt) => {
      calls.push({ name: schedule.name, firedAt: firedAt.toISOString(), schedule });
      await invoke?.(schedule);
    },
    onError: (error, schedule) => errors.push({ error, name: schedule.name }),
  });
  current = scheduler;
  return { scheduler, calls, errors };
}

afterEach(() => {
  current?.stop();
  current = undefined;
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('LocalScheduler — store', () => {
  it('creates with AWS defaults, and gets, lists, updates and deletes', () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
    const { scheduler } = harness();
    const created = scheduler.create({ name: 'nightly', expression: 'cron(0 2 * * ? *)', target, description: 'nightly sweep' });
    expect(created).toMatchObject({
      name: 'nightly',
      groupName: 'default',
      timezone: 'UTC',
      state: 'ENABLED',
      actionAfterCompletion: 'NONE',
      description: 'nightly sweep',
      target,
    });
    expect(created.createdAt.toISOString()).toBe('2026-06-01T00:00:00.000Z');
    expect(created.nextFireAt?.toISOString()).toBe('2026-06-01T02:00:00.000Z');
    expect(created.lastFiredAt).toBeUndefined();

    scheduler.create({ name: 'reminder', groupName: 'campaigns', expression: 'at(2026-12-01T09:00:00)', timezone: 'America/New_York', target, flexibleTimeWindowMinutes: 15 });
    scheduler.create({ name: 'alpha', groupName: 'campaigns', expression: 'rate(5 minutes)', target, startDate: new Date('2026-06-02T00:00:00Z') });
    expect(scheduler.get('reminder', 'campaigns')).toMatchObject({ timezone: 'America/New_York', flexibleTimeWindowMinutes: 15 });
    expect(scheduler.get('reminder', 'campaigns')?.nextFireAt?.toISOString()).toBe('2026-12-01T14:00:00.000Z');
    expect(scheduler.get('reminder')).toBeUndefined(); // other group
    expect(scheduler.list().map((s) => `${s.groupName}/${s.name}`)).toEqual(['campaigns/alpha', 'campaigns/reminder', 'default/nightly']);
    expect(scheduler.list('campaigns').map((s) => s.name)).toEqual(['alpha', 'reminder']);
    expect(scheduler.list('none')).toEqual([]);

    // Callers get copies.
    const copy = scheduler.get('nightly');
    if (!copy) throw new Error('missing');
    copy.target.arn = 'changed';
    copy.state = 'DISABLED';
    expect(scheduler.get('nightly')?.target.arn).toBe(target.arn);
    expect(scheduler.get('nightly')?.state).toBe('ENABLED');

    vi.setSystemTime(new Date('2026-06-01T01:00:00Z'));
    const updated = scheduler.update({ name: 'nightly', expression: 'cron(30 3 * * ? *)', timezone: 'Europe/Berlin', target });
    expect(updated.createdAt.toISOString()).toBe('2026-06-01T00:00:00.000Z');
    expect(updated.nextFireAt?.toISOString()).toBe('2026-06-01T01:30:00.000Z'); // 03:30 CEST
    expect(updated.description).toBeUndefined(); // UpdateSchedule replaces the whole definition
    expect(() => scheduler.update({ name: 'ghost', expression: 'rate(1 day)', target })).toThrow(ScheduleNotFoundError);

    expect(scheduler.delete('nightly')).toBe(true);
    expect(scheduler.delete('nightly')).toBe(false);
    expect(scheduler.get('nightly')).toBeUndefined();
  });

  it('rejects a name that exists in the group with ConflictError', () => {
    const { scheduler } = harness();
    scheduler.create({ name: 'dup', expression: 'rate(1 hour)', target, startDate: new Date(Date.now() + 3_600_000) });
    expect(() => scheduler.create({ name: 'dup', expression: 'rate(2 hours)', target })).toThrow(ConflictError);
    expect(() => scheduler.create({ name: 'dup', expression: 'rate(2 hours)', target })).toThrow(/dup already exists in group default/);
    expect(() => scheduler.create({ name: 'dup', groupName: 'other', expression: 'rate(2 hours)', target, startDate: new Date(Date.now() + 3_600_000) })).not.toThrow();
    try {
      scheduler.create({ name: 'dup', expression: 'rate(2 hours)', target });
    } catch (error) {
      expect((error as ConflictError).status).toBe(409);
    }
  });

  it('validates expression, time zone, name and dates', () => {
    const { scheduler } = harness();
    expect(() => scheduler.create({ name: 'bad', expression: 'cron(0 2 * * *)', target })).toThrow(InvalidScheduleExpressionError);
    expect(() => scheduler.create({ name: 'bad', expression: 'cron(0 2 * * ? *)', timezone: 'Europe/Atlantis', target })).toThrow(InvalidTimeZoneError);
    expect(() => scheduler.create({ name: 'bad name!', expression: 'rate(1 day)', target })).toThrow(/must be 1-64 characters/);
    expect(() => scheduler.create({ name: 'no-target', expression: 'rate(1 day)', target: { arn: '' } })).toThrow(/needs a target/);
    expect(() =>
      scheduler.create({ name: 'dates', expression: 'rate(1 day)', target, startDate: new Date('2026-02-01T00:00:00Z'), endDate: new Date('2026-01-01T00:00:00Z') }),
    ).toThrow(/endDate must be after startDate/);
    expect(scheduler.list()).toEqual([]); // nothing half-created
  });
});

describe('LocalScheduler — firing', () => {
  it('fires a schedule due ~50 ms ahead once (real timers, unref’d)', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const { scheduler, calls } = harness();
    const startDate = new Date(Date.now() + 50);
    scheduler.create({ name: 'soon', expression: 'rate(1 hour)', target, startDate });
    const timers = setTimeoutSpy.mock.results.map((r) => r.value as ReturnType<typeof setTimeout>);
    expect(timers.length).toBeGreaterThan(0);
    for (const timer of timers) expect(timer.hasRef()).toBe(false); // never keeps the process alive
    // The timeout only bounds a hang; a loaded machine may be late by far more than 50 ms.
    await vi.waitFor(() => expect(calls).toHaveLength(1), { timeout: 20_000, interval: 10 });
    expect(Date.parse(calls[0]?.firedAt ?? '')).toBeGreaterThanOrEqual(startDate.getTime());
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(calls).toHaveLength(1);
    expect(scheduler.get('soon')?.lastFiredAt?.toISOString()).toBe(calls[0]?.firedAt);
    expect(scheduler.get('soon')?.nextFireAt?.getTime()).toBe(startDate.getTime() + 3_600_000);
  });

  it('fires a one-time at schedule at its second and deletes it (ActionAfterCompletion DELETE)', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-01T13:59:59.950Z') });
    const { scheduler, calls } = harness();
    scheduler.create({
      name: 'campaign-42-send',
      groupName: 'campaigns',
      expression: 'at(2026-12-01T09:00:00)',
      timezone: 'America/New_York',
      actionAfterCompletion: 'DELETE',
      target,
    });
    await vi.advanceTimersByTimeAsync(49);
    expect(calls).toHaveLength(0);
    expect(scheduler.get('campaign-42-send', 'campaigns')).toBeDefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.firedAt).toBe('2026-12-01T14:00:00.000Z');
    expect(calls[0]?.schedule).toMatchObject({ name: 'campaign-42-send', groupName: 'campaigns', target });
    expect(scheduler.get('campaign-42-send', 'campaigns')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(7 * 86_400_000);
    expect(calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps a fired one-time schedule with ActionAfterCompletion NONE, with nothing left to fire', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-01T08:59:00Z') });
    const { scheduler, calls } = harness();
    scheduler.create({ name: 'once', expression: 'at(2026-12-01T09:00:00)', target });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    expect(scheduler.get('once')).toMatchObject({ nextFireAt: null, lastFiredAt: new Date('2026-12-01T09:00:00Z') });
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(calls).toHaveLength(1);
  });

  it('fires a past-due at schedule once, immediately after create', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') });
    const { scheduler, calls } = harness();
    const created = scheduler.create({ name: 'late', expression: 'at(2026-12-01T09:00:00)', actionAfterCompletion: 'DELETE', target });
    expect(created.nextFireAt?.toISOString()).toBe('2026-12-01T09:00:00.000Z'); // due in the past
    expect(calls).toHaveLength(0); // asynchronously, not inside create()
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.firedAt).toBe('2026-12-01T10:00:00.000Z');
    expect(scheduler.get('late')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(calls).toHaveLength(1);
  });

  it('fires a cron schedule in its time zone, and again the next day', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
    const { scheduler, calls } = harness();
    scheduler.create({ name: 'morning', expression: 'cron(0 9 * * ? *)', timezone: 'Europe/Berlin', target });
    expect(scheduler.get('morning')?.nextFireAt?.toISOString()).toBe('2026-06-01T07:00:00.000Z');
    await vi.advanceTimersByTimeAsync(7 * 3_600_000 - 1);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-06-01T07:00:00.000Z']);
    expect(scheduler.get('morning')?.nextFireAt?.toISOString()).toBe('2026-06-02T07:00:00.000Z');
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-06-01T07:00:00.000Z', '2026-06-02T07:00:00.000Z']);
  });

  it('starts a rate schedule without StartDate immediately, then every interval (as AWS does)', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
    const { scheduler, calls } = harness();
    scheduler.create({ name: 'poll', expression: 'rate(5 minutes)', target });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-06-01T00:00:00.000Z', '2026-06-01T00:05:00.000Z', '2026-06-01T00:10:00.000Z']);
  });

  it('stops a recurring schedule before EndDate, and deletes it then with DELETE', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
    const { scheduler, calls } = harness();
    scheduler.create({
      name: 'bounded',
      expression: 'cron(0 * * * ? *)',
      endDate: new Date('2026-06-01T03:00:00Z'),
      actionAfterCompletion: 'DELETE',
      target,
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(scheduler.get('bounded')?.nextFireAt?.toISOString()).toBe('2026-06-01T01:00:00.000Z');
    await vi.advanceTimersByTimeAsync(5 * 3_600_000);
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-06-01T01:00:00.000Z', '2026-06-01T02:00:00.000Z']);
    expect(scheduler.get('bounded')).toBeUndefined();
  });

  it('re-arms waits longer than setTimeout allows in steps', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const { scheduler, calls } = harness();
    scheduler.create({ name: 'far', expression: 'at(2026-03-01T00:00:00)', target }); // 59 days ≈ 2.4 × the limit
    const due = Date.parse('2026-03-01T00:00:00Z');
    await vi.advanceTimersByTimeAsync(due - Date.now() - 1);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-03-01T00:00:00.000Z']);
    const delays = setTimeoutSpy.mock.calls.map((call) => call[1] ?? 0);
    expect(delays.length).toBeGreaterThanOrEqual(3);
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
  });

  it('does not fire a DISABLED schedule, and fires it once enabled', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
    const { scheduler, calls } = harness();
    const created = scheduler.create({ name: 'off', expression: 'cron(* * * * ? *)', state: 'DISABLED', target });
    expect(created.nextFireAt).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(calls).toHaveLength(0);
    scheduler.update({ name: 'off', expression: 'cron(* * * * ? *)', state: 'ENABLED', target });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-06-01T00:11:00.000Z']);
    scheduler.update({ name: 'off', expression: 'cron(* * * * ? *)', state: 'DISABLED', target });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(calls).toHaveLength(1);
  });

  it('reports invoke errors through onError and keeps the cron going', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:30Z') });
    const { scheduler, calls, errors } = harness(async () => {
      throw new Error('target unavailable');
    });
    scheduler.create({ name: 'flaky', expression: 'cron(* * * * ? *)', target });
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-06-01T00:01:00.000Z', '2026-06-01T00:02:00.000Z', '2026-06-01T00:03:00.000Z']);
    expect(errors).toHaveLength(3);
    expect(errors[0]?.name).toBe('flaky');
    expect((errors[0]?.error as Error).message).toBe('target unavailable');
    expect(scheduler.get('flaky')?.nextFireAt?.toISOString()).toBe('2026-06-01T00:04:00.000Z');
  });

  it('reports a synchronously throwing invoker, and survives an onError that throws', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:30Z') });
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let invocations = 0;
    const scheduler = new LocalScheduler({
      invoke: () => {
        invocations++;
        throw new Error('sync boom');
      },
      onError: () => {
        throw new Error('handler boom');
      },
    });
    current = scheduler;
    scheduler.create({ name: 'sync', expression: 'cron(* * * * ? *)', target });
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(invocations).toBe(2);
    expect(consoleError).toHaveBeenCalledTimes(2);
  });
});

describe('LocalScheduler — runNow', () => {
  it('fires immediately without changing the timetable', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
    const { scheduler, calls } = harness();
    scheduler.create({ name: 'nightly', expression: 'cron(0 2 * * ? *)', target });
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    await scheduler.runNow('nightly');
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-06-01T00:30:00.000Z']);
    expect(calls[0]?.schedule.target).toEqual(target);
    expect(scheduler.get('nightly')?.nextFireAt?.toISOString()).toBe('2026-06-01T02:00:00.000Z');
    expect(scheduler.get('nightly')?.lastFiredAt?.toISOString()).toBe('2026-06-01T00:30:00.000Z');
    await vi.advanceTimersByTimeAsync(90 * 60_000);
    expect(calls.map((c) => c.firedAt)).toEqual(['2026-06-01T00:30:00.000Z', '2026-06-01T02:00:00.000Z']);
  });

  it('deletes a one-time DELETE schedule after runNow, so it does not fire again', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
    const { scheduler, calls } = harness();
    scheduler.create({ name: 'one-off', expression: 'at(2026-06-02T00:00:00)', actionAfterCompletion: 'DELETE', target });
    await scheduler.runNow('one-off');
    expect(calls).toHaveLength(1);
    expect(scheduler.get('one-off')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2 * 86_400_000);
    expect(calls).toHaveLength(1);
  });

  it('rejects for an unknown schedule, and passes the invoker’s error to the caller', async () => {
    const { scheduler } = harness(async () => {
      throw new Error('handler failed');
    });
    await expect(scheduler.runNow('missing')).rejects.toBeInstanceOf(ScheduleNotFoundError);
    scheduler.create({ name: 'manual', expression: 'cron(0 2 * * ? *)', state: 'DISABLED', target });
    await expect(scheduler.runNow('manual')).rejects.toThrow('handler failed');
  });
});

describe('LocalScheduler — stop', () => {
  it('clears every timer, and nothing fires afterwards', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:00Z') });
    const { scheduler, calls } = harness();
    scheduler.create({ name: 'a', expression: 'cron(* * * * ? *)', target });
    scheduler.create({ name: 'b', expression: 'rate(1 hour)', target, startDate: new Date('2026-06-01T01:00:00Z') });
    scheduler.create({ name: 'c', groupName: 'g', expression: 'at(2026-06-01T00:05:00)', target });
    expect(vi.getTimerCount()).toBe(3);
    scheduler.stop();
    expect(vi.getTimerCount()).toBe(0);
    scheduler.create({ name: 'd', expression: 'cron(* * * * ? *)', target }); // stored, not armed
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(3 * 3_600_000);
    expect(calls).toHaveLength(0);
    expect(scheduler.list()).toHaveLength(4);
  });

  it('a slow invocation still running at stop() does not bring timers back', async () => {
    vi.useFakeTimers({ now: new Date('2026-06-01T00:00:59Z') });
    let release: () => void = () => undefined;
    const { scheduler, calls } = harness(() => new Promise<void>((resolve) => (release = resolve)));
    scheduler.create({ name: 'slow', expression: 'cron(* * * * ? *)', target });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(1);
    scheduler.stop();
    release();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
