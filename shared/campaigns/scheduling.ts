import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { requireEnv } from '../config.ts';
import { toAwsAtExpression } from '../schedule-expression.ts';
import { earliestInstantAnywhere, instantAtLocalTime } from './decisions.ts';
import type { Campaign } from './model.ts';

const client = new SchedulerClient({});

export interface SchedulingConfig {
  group: string;
  roleArn: string;
  /** The launches queue: schedules deliver a LaunchMessage to it. */
  targetArn: string;
}

export function schedulingFromEnv(): SchedulingConfig {
  return { group: requireEnv('SCHEDULE_GROUP'), roleArn: requireEnv('SCHEDULER_ROLE_ARN'), targetArn: requireEnv('LAUNCH_QUEUE_ARN') };
}

export const scheduleNameOf = (campaignId: string): string => `campaign-${campaignId}`;

/**
 * Creates the EventBridge Scheduler schedule that launches a campaign: a one-time `at()` that
 * deletes itself after running, or a `cron()` in the campaign's time zone for recurring ones.
 * A "local time" campaign starts when its wall-clock time first occurs anywhere (UTC+14);
 * each contact's message is then deferred to that time in their own zone.
 */
export async function createLaunchSchedule(campaign: Campaign, config: SchedulingConfig, scheduler = client): Promise<string | undefined> {
  const schedule = campaign.schedule;
  if (schedule.type === 'immediate') return undefined;
  const name = scheduleNameOf(campaign.id);
  let expression: string;
  let timezone: string;
  if (schedule.type === 'at') {
    const instant = schedule.localTime ? earliestInstantAnywhere(schedule.at) : instantAtLocalTime(schedule.at, schedule.timezone);
    expression = toAwsAtExpression(instant, 'UTC');
    timezone = 'UTC';
  } else {
    expression = schedule.cron;
    timezone = schedule.timezone;
  }
  const input = JSON.stringify({ kind: 'launch', campaignId: campaign.id, scheduledTime: '<aws.scheduler.scheduled-time>' });
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
        Description: `Touchloop campaign ${campaign.name}`.slice(0, 512),
      }),
    );
  } catch (error) {
    // A retried launch request: the schedule is already there.
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
