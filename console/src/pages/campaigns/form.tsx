import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { api, ApiError } from '../../api.ts';
import { CampaignInput, issuesFromZod, type ValidationIssue } from '../../contracts.ts';
import { useDraft } from '../../ui/draft.ts';
import { Field, FormErrors, SelectField, TextField } from '../../ui/field.tsx';
import { ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import type { SegmentItem } from '../segments/types.ts';
import { channelsOf, emptyForm, formOf, newVariant, toInput, type CampaignForm, type ChannelChoice, type VariantForm } from './form-model.ts';
import type { CampaignResource, TemplateItem } from './types.ts';
import './campaigns.css';

const CHANNEL_OPTIONS: ReadonlyArray<readonly [ChannelChoice, string]> = [
  ['email', 'Email'],
  ['sms', 'SMS'],
  ['email,sms', 'Email, else SMS'],
  ['sms,email', 'SMS, else email'],
  ['best', 'Best per contact (highest expected value)'],
];
const MODELS = [
  ['last_touch', 'Last touch'],
  ['first_touch', 'First touch'],
  ['linear', 'Linear'],
  ['time_decay', 'Time decay'],
] as const;
const ZONES: ReadonlyArray<readonly [string, string]> = (() => {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return ['UTC', ...zones.filter((z) => z !== 'UTC')].map((z) => [z, z] as const);
})();

/** /campaigns/new, and /campaigns/:id/edit for a draft. */
export default function CampaignFormPage({ id }: { id?: string }) {
  const campaign = useResource<{ campaign: CampaignResource }>(id ? `/v1/campaigns/${id}` : undefined);
  if (!id) return <Editor key="new" />;
  if (campaign.error) return <ErrorBox error={campaign.error} />;
  if (!campaign.data) return <Loading what="the campaign" />;
  const c = campaign.data.campaign;
  if (c.status !== 'draft') {
    return (
      <Page title={c.name}>
        <p class="notice">
          Only a draft can be edited; this campaign is {c.status}. <a href={`/campaigns/${id}`}>Back to the campaign</a>
        </p>
      </Page>
    );
  }
  return <Editor key={id} campaign={c} />;
}

function Editor({ campaign }: { campaign?: CampaignResource }) {
  const { route } = useLocation();
  const id = campaign?.id;
  const [form, setForm, clearDraft] = useDraft<CampaignForm>(`campaign:${id ?? 'new'}`, () => (campaign ? formOf(campaign) : emptyForm()));
  const [issues, setIssues] = useState<ValidationIssue[]>([]);
  const [error, setError] = useState<unknown>();
  const [saving, setSaving] = useState(false);
  const segments = useResource<{ items: SegmentItem[] }>('/v1/segments');
  const templates = useResource<{ items: TemplateItem[] }>('/v1/templates');
  const set = (patch: Partial<CampaignForm>) => setForm((f) => ({ ...f, ...patch }));
  const setVariant = (key: string, patch: Partial<VariantForm>) => setForm((f) => ({ ...f, variants: f.variants.map((v) => (v.key === key ? { ...v, ...patch } : v)) }));
  const channels = channelsOf(form.channels);
  const common = { issues };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const body = toInput(form);
    const parsed = CampaignInput.safeParse(body);
    if (!parsed.success) {
      const found = issuesFromZod(parsed.error.issues);
      setIssues(found);
      setError(new ApiError(400, 'validation_failed', 'Some fields need attention.', found));
      return;
    }
    setIssues([]);
    setSaving(true);
    try {
      const { campaign: saved } = await api<{ campaign: CampaignResource }>(id ? `/v1/campaigns/${id}` : '/v1/campaigns', { method: id ? 'PUT' : 'POST', body });
      clearDraft();
      route(`/campaigns/${saved.id}`);
    } catch (err) {
      setError(err);
      setIssues(err instanceof ApiError ? err.issues : []);
    } finally {
      setSaving(false);
    }
  };

  const segmentOptions: Array<readonly [string, string]> = [['', segments.data ? 'Choose a segment' : 'Loading segments…'], ...(segments.data?.items ?? []).map((s) => [s.id, s.name] as const)];
  const templateOptions = (channel: 'email' | 'sms'): Array<readonly [string, string]> => [
    ['', templates.data ? `Choose ${channel === 'email' ? 'an email' : 'an SMS'} template` : 'Loading templates…'],
    ...(templates.data?.items ?? []).filter((t) => t.channel === channel).map((t) => [t.id, t.name] as const),
  ];
  const single = form.variants.length === 1;
  const templateLabel = (channel: 'email' | 'sms') => (channels.length === 1 ? 'Template' : channel === 'email' ? 'Email template' : 'SMS template');

  const templateFields = (v: VariantForm, i: number) => [
    ...channels.map((ch) => <SelectField key={ch} label={templateLabel(ch)} path={`variants[${i}].templates.${ch}`} {...common} value={v[ch]} onValue={(value) => setVariant(v.key, { [ch]: value })} options={templateOptions(ch)} />),
    <VariantIssues key="issues" issues={issues} index={i} />,
  ];

  return (
    <Page title={id ? `Edit ${campaign?.name ?? 'campaign'}` : 'New campaign'}>
      <form onSubmit={submit} noValidate class="campaign-form">
        <FormErrors error={error} claimed={['name', 'segmentId', 'channels', 'variants', 'holdoutPercent', 'schedule', 'limits', 'goal', 'costPerMessage', 'marketing']} />
        <fieldset>
          <legend>Audience and message</legend>
          <TextField label="Name" path="name" {...common} value={form.name} onValue={(v) => set({ name: v })} maxLength={200} required />
          <div class="row">
            <SelectField label="Segment" path="segmentId" {...common} value={form.segmentId} onValue={(v) => set({ segmentId: v })} options={segmentOptions} hint={<a href="/segments/new">New segment</a>} />
            <SelectField label="Send by" path="channels" {...common} value={form.channels} onValue={(v) => set({ channels: v as ChannelChoice })} options={CHANNEL_OPTIONS} />
          </div>
          {single ? (
            <div class="row" data-variant="0">
              {templateFields(form.variants[0]!, 0)}
            </div>
          ) : (
            form.variants.map((v, i) => (
              <fieldset key={v.key} class="variant" data-variant={i}>
                <legend>Variant {v.name || i + 1}</legend>
                <div class="row">
                  <TextField label="Variant name" path={`variants[${i}].name`} {...common} value={v.name} onValue={(value) => setVariant(v.key, { name: value })} maxLength={100} />
                  <TextField label="Weight" path={`variants[${i}].weight`} {...common} type="number" min={0} step="any" value={v.weight} onValue={(value) => setVariant(v.key, { weight: value })} hint="share of the treated contacts, relative to the other variants" />
                </div>
                <div class="row">{templateFields(v, i)}</div>
                <button type="button" onClick={() => set({ variants: form.variants.filter((x) => x.key !== v.key) })}>
                  Remove variant {v.name || i + 1}
                </button>
              </fieldset>
            ))
          )}
          <VariantIssues issues={issues} />
          {form.variants.length < 10 && (
            <button type="button" onClick={() => set({ variants: [...form.variants, newVariant(form.variants.length)] })}>
              Add variant
            </button>
          )}
          <TextField label="Holdout %" path="holdoutPercent" {...common} type="number" min={0} max={50} step="any" value={form.holdoutPercent} onValue={(v) => set({ holdoutPercent: v })} hint="contacts kept out at random (0–50), to measure the lift against" />
          <Field label="Marketing message" path="marketing" issues={issues} hint="adds the unsubscribe footer and the STOP line, and respects quiet hours">
            {(a) => <input {...a} type="checkbox" class="check" checked={form.marketing} onChange={(e) => set({ marketing: (e.currentTarget as HTMLInputElement).checked })} />}
          </Field>
        </fieldset>

        <fieldset>
          <legend>Schedule</legend>
          <div class="row">
            <SelectField
              label="When"
              path="schedule.type"
              {...common}
              value={form.when}
              onValue={(v) => set({ when: v as CampaignForm['when'] })}
              options={[
                ['immediate', 'Now'],
                ['at', 'At a time'],
                ['recurring', 'Recurring'],
              ]}
            />
            {form.when === 'at' && <TextField label="Date and time" path="schedule.at" {...common} type="datetime-local" value={form.at} onValue={(v) => set({ at: v })} />}
            {form.when === 'recurring' && <TextField label="Cron expression" path="schedule.cron" {...common} value={form.cron} onValue={(v) => set({ cron: v })} hint="cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 9 ? * MON *) for Mondays at 09:00" />}
            {form.when !== 'immediate' && !(form.when === 'at' && form.localTime) && <SelectField label="Time zone" path="schedule.timezone" {...common} value={form.timezone} onValue={(v) => set({ timezone: v })} options={ZONES} />}
          </div>
          {form.when === 'at' && (
            <Field label="In each contact's local time" path="schedule.localTime" issues={issues} hint="sends at this wall-clock time in every contact's own time zone">
              {(a) => <input {...a} type="checkbox" class="check" checked={form.localTime} onChange={(e) => set({ localTime: (e.currentTarget as HTMLInputElement).checked })} />}
            </Field>
          )}
        </fieldset>

        <fieldset>
          <legend>Limits</legend>
          <div class="row">
            <SelectField
              label="Quiet hours"
              path="limits.quietHours"
              {...common}
              value={form.quiet}
              onValue={(v) => set({ quiet: v as CampaignForm['quiet'] })}
              options={[
                ['default', 'Default (SMS 21:00–08:00, email none)'],
                ['none', 'None'],
                ['custom', 'Custom'],
              ]}
              hint="in each contact's time zone; messages due inside them wait, never dropped"
            />
            {form.quiet === 'custom' && (
              <>
                <TextField label="Quiet from" path={`limits.quietHours.${channels[0]}.start`} {...common} type="time" value={form.quietStart} onValue={(v) => set({ quietStart: v })} />
                <TextField label="Quiet until" path={`limits.quietHours.${channels[0]}.end`} {...common} type="time" value={form.quietEnd} onValue={(v) => set({ quietEnd: v })} />
              </>
            )}
          </div>
          <div class="row">
            <TextField label="Frequency cap per day" path="limits.frequencyCap.perDay" {...common} type="number" min={1} max={100} step={1} value={form.perDay} onValue={(v) => set({ perDay: v })} hint="messages per contact and channel, across all campaigns (blank: none)" />
            <TextField label="Frequency cap per week" path="limits.frequencyCap.perWeek" {...common} type="number" min={1} max={500} step={1} value={form.perWeek} onValue={(v) => set({ perWeek: v })} />
          </div>
          <div class="row">
            {channels.includes('email') && <TextField label="Email send rate (per second)" path="limits.sendRatePerSecond.email" {...common} type="number" min={0} step="any" value={form.rateEmail} onValue={(v) => set({ rateEmail: v })} hint="blank: the deployment's default" />}
            {channels.includes('sms') && <TextField label="SMS send rate (per second)" path="limits.sendRatePerSecond.sms" {...common} type="number" min={0} step="any" value={form.rateSms} onValue={(v) => set({ rateSms: v })} hint="blank: the deployment's default" />}
          </div>
          <div class="row">
            <TextField label="Max recipients" path="limits.maxRecipients" {...common} type="number" min={1} step={1} value={form.maxRecipients} onValue={(v) => set({ maxRecipients: v })} hint="blank: the whole segment" />
            <TextField label="Budget" path="limits.budget" {...common} type="number" min={0} step="any" value={form.budget} onValue={(v) => set({ budget: v })} hint="sending stops at this total cost (blank: none)" />
          </div>
        </fieldset>

        <fieldset>
          <legend>Goal and costs</legend>
          <div class="row">
            <TextField label="Conversion event" path="goal.event" {...common} value={form.goalEvent} onValue={(v) => set({ goalEvent: v })} maxLength={100} />
            <TextField label="Attribution window (days)" path="goal.attributionWindowDays" {...common} type="number" min={1} max={90} step={1} value={form.windowDays} onValue={(v) => set({ windowDays: v })} />
            <SelectField label="Attribution model" path="goal.model" {...common} value={form.model} onValue={(v) => set({ model: v as CampaignForm['model'] })} options={MODELS} />
            {form.model === 'time_decay' && <TextField label="Half-life (days)" path="goal.halfLifeDays" {...common} type="number" min={0} max={90} step="any" value={form.halfLifeDays} onValue={(v) => set({ halfLifeDays: v })} hint="blank: 7" />}
          </div>
          <div class="row">
            {channels.includes('email') && <TextField label="Cost per email" path="costPerMessage.email" {...common} type="number" min={0} max={10} step="any" value={form.costEmail} onValue={(v) => set({ costEmail: v })} />}
            {channels.includes('sms') && <TextField label="Cost per SMS" path="costPerMessage.sms" {...common} type="number" min={0} max={10} step="any" value={form.costSms} onValue={(v) => set({ costSms: v })} />}
          </div>
        </fieldset>

        <div class="actions">
          <button type="submit" class="primary" disabled={saving}>
            {id ? 'Save draft' : 'Create campaign'}
          </button>
          <a class="button" href={id ? `/campaigns/${id}` : '/campaigns'}>
            Back
          </a>
          <p role="status" class="muted">
            {saving ? 'Saving…' : ''}
          </p>
        </div>
      </form>
    </Page>
  );
}

/** Issues about a variant's templates as a whole (`variants[i].templates`: none chosen), or about the list (`variants`), which no select claims. */
function VariantIssues({ issues, index }: { issues: readonly ValidationIssue[]; index?: number }) {
  const at = index === undefined ? 'variants' : `variants[${index}]`;
  const mine = issues.filter((i) => i.path === at || (index !== undefined && i.path === `${at}.templates`));
  if (!mine.length) return null;
  return (
    <p class="error variant-error" role="alert">
      {mine.map((i) => i.message).join('; ')}
    </p>
  );
}
