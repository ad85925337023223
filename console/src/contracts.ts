/**
 * The console's only door into the API's own code: schemas and types from shared/ and events/,
 * re-exported so the browser validates exactly what the API validates. Nothing reachable from
 * here may import Node built-ins, the AWS SDK or server-only libraries;
 * test/unit/architecture.test.ts walks this file's imports and fails on one.
 */
export type { ValidationIssue } from '../../shared/errors.ts';
export { CampaignInput, Channel, Schedule, type CampaignCounters, type CampaignStatus } from '../../shared/campaigns/model.ts';
export { Rule, SegmentRuleDefinition, type RuleNode, type ScoreName } from '../../shared/segments/rule.ts';
export { smsSegments, type SmsSegmentInfo } from '../../shared/templates/sms-segments.ts';
export { issuesFromZod } from '../../shared/errors.ts';
export { FieldType, FormDefinitionInput, type FormDefinitionData } from '../../shared/forms/definition.ts';
export { RuleTimeZone, type CountOp, type FieldOp, type TimeUnit } from '../../shared/segments/rule.ts';
export type { CampaignResource as CampaignResourceBase } from '../../shared/campaigns/resources.ts';
export type { ModelSummary } from '../../shared/learning/model-views.ts';
