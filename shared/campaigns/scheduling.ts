import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { isInThePast } from '../clock.ts';
import type { SchedulingConfig } from '../config.ts';
import type { ValidationIssue } from '../errors.ts';
import { nextFireTime, toAwsAtExpression } from '../schedule-expression.ts';
import { earliestInstantAnywhere, instantAtLocalTime } from './decisions.ts';
import type { Campaign, Schedule } from './model.ts';

const client = new SchedulerClient({});

export type { SchedulingConfig };

export const scheduleNameOf = (campaignId: string): string => `campaign-${campaignId}`;

/**
 * When a one-time schedule fires: its wall-clock time in its zone, or for a "local time"
 * campaign the moment that time first occurs anywhere (UTC+14), after which each contact's
 * message is deferred to that time in their own zone.
 */
export function oneTimeStart(schedule: Extract<Schedule, { type: 'at' }>): Date {
  return schedule.localTime ? earliestInstantAnywhere(schedule.at) : instantAtLocalTime(schedule.at, schedule.timezone);
}

/**
 * Why a schedule cannot be launched at `now`, by field path: a one-time start that has passed
 * (EventBridge Scheduler would fire it at once, which is what "immediate" is for) beyond the clock
 * skew, or a cron that never fires again. A recurring schedule's past occurrences are normal.
 */
export function scheduleStartIssues(schedule: Schedule, now: Date = new Date()): ValidationIssue[] {
  if (schedule.type === 'immediate') return [];
  if (schedule.type === 'at') {
    const start = oneTimeStart(schedule);
    if (!isInThePast(start, now)) return [];
    const where = schedule.localTime
      ? `${schedule.at} has already come in the earliest time zone (UTC+14, at ${start.toISOString()}), so some contacts would get the message late`
      : `${schedule.at} in ${schedule.timezone} (${start.toISOString()}) has passed`;
    return [{ path: 'schedule.at', message: `${where}; to start now, set "schedule": { "type": "immediate" }, or pick a later time` }];
  }
  // A cron with a later firing is fine, however long ago its first one was.
  if (nextFireTime(schedule.cron, schedule.timezone, now) === null) return [{ path: 'schedule.cron', message: 'never fires again: every time it names has passed' }];
  return [];
}

/**
 * Creates the EventBridge Scheduler schedule that launches a campaign: a one-time `at()` (see
 * oneTimeStart) that deletes itself after running, or a `cron()` in the campaign's time zone for
 * recurring ones.
 */
export async function createLaunchSchedule(campaign: Campaign, config: SchedulingConfig, scheduler = client): Promise<string | undefined> {
  return createSchedule(scheduleNameOf(campaign.id), campaign.schedule, { kind: 'launch', campaignId: campaign.id }, `Touchloop campaign ${campaign.name}`, config, scheduler);
}

/**
 * A schedule that delivers `payload` (with the firing's `scheduledTime`) to the configured queue:
 * one-time (deleting itself after running) or recurring in its zone. Campaign launches and
 * segment-audience journeys both use it. undefined for an immediate schedule (nothing to create).
 */
export async function createSchedule(name: string, schedule: Schedule, payload: Record<string, unknown>, description: string, config: SchedulingConfig, scheduler = client): Promise<string | undefined> {
  if (schedule.type === 'immediate') return undefined;
  let expression: string;
  let timezone: string;
  if (schedule.type === 'at') {
    expression = toAwsAtExpression(oneTimeStart(schedule), 'UTC');
    timezone = 'UTC';
  } else {
    expression = schedule.cron;
    timezone = schedule.timezone;
  }
  const input = JSON.stringify({ ...payload, scheduledTime: '<aws.scheduler.scheduled-time>' });
  try {
    await scheduler.send(
      new CreateScheduleCommand({
        Name: name,
        GroupName: config.group,
        ScheduleExpression: expression,
        ScheduleExpressionTimezone: timezone,
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: schedule.type === 'at' ? 'DELETE' : 'NONE',
        Target: { Arn: config.targetArn, RoleArn: config.roleArn, Input: input, RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 } },
        Description: description.slice(0, 512),
      }),
    );
  } catch (error) {
    // A retried request: the schedule is already there.
    if (!(error instanceof ConflictException)) throw error;
  }
  return name;
}

export async function deleteLaunchSchedule(name: string, config: SchedulingConfig, scheduler = client): Promise<void> {
  try {
    await scheduler.send(new DeleteScheduleCommand({ Name: name, GroupName: config.group }));
  } catch (error) {
    // Already gone (a one-time schedule deletes itself after running).
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
}
