/**
 * Pure decision logic for launching and sending a campaign (no I/O): who is held out, which
 * variant and channel each contact gets, when a message may go out, and send pacing.
 */
export { assignmentHash, chooseVariant, isHoldout } from './assignment.ts';
export { earliestInstantAnywhere, instantAtLocalTime, nextAllowedTime, parseClock, type QuietHours } from './local-time.ts';
export { checkEligibility, chooseChannel, frequencyCapSince, sentInLast, type ChannelChoice, type Eligibility, type FrequencyCap, type SkipReason } from './eligibility.ts';
export { TokenBucket } from './token-bucket.ts';
