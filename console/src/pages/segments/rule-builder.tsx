import type { ValidationIssue } from '../../contracts.ts';
import { issuesAt, SelectField, TextField } from '../../ui/field.tsx';
import {
  CHANNEL_KINDS,
  EVENTS,
  FIELD_KINDS,
  LEARNED_SCORE_ENTRY,
  OTHER_KINDS,
  SCORE_OPTIONS,
  UNITS,
  depthOf,
  newCond,
  newGroup,
  operatorsFor,
  scoreChoice,
  updateItem,
  withKind,
  withScoreChoice,
  type Cond,
  type CondKind,
  type Group,
  type Item,
} from './rule-model.ts';

interface Ctx {
  root: Group;
  onChange: (root: Group) => void;
  issues: readonly ValidationIssue[];
  paths: Map<string, string>;
  segments: ReadonlyArray<readonly [id: string, name: string]>;
  disabled?: boolean;
}

const CHANNELS = [
  ['email', 'email'],
  ['sms', 'SMS'],
] as const;
const MATCH = [
  ['and', 'all of these'],
  ['or', 'any of these'],
  ['none', 'none of these'],
] as const;
/** Groups nest up to this depth in the builder (the rule language allows 10). */
const MAX_BUILDER_DEPTH = 4;

/**
 * The rule as nested groups of condition rows. Every control is a labelled field whose `path` is
 * the JSON path its value lands at, so an issue from zod or the API appears beside it; issues no
 * control claims appear under their row or group.
 */
export function RuleBuilder(props: Ctx) {
  return <GroupBox group={props.root} ctx={props} index={[]} />;
}

function Unclaimed({ issues, at, claimed }: { issues: readonly ValidationIssue[]; at: string | undefined; claimed: string[] }) {
  if (!at) return null;
  const mine = issuesAt(issues, at).filter((i) => !claimed.some((p) => issuesAt([i], p).length));
  if (!mine.length) return null;
  return (
    <p class="error" role="alert">
      {mine.map((i) => (i.path === at ? i.message : `${i.path.slice(at.length).replace(/^\./, '')}: ${i.message}`)).join('; ')}
    </p>
  );
}

function GroupBox({ group, ctx, index }: { group: Group; ctx: Ctx; index: number[] }) {
  const at = ctx.paths.get(group.key);
  const set = (fn: (g: Group) => Group) => ctx.onChange(updateItem(ctx.root, group.key, (item) => fn(item as Group)));
  const isRoot = index.length === 0;
  const label = isRoot ? 'Rule' : `Group ${index.map((i) => i + 1).join('.')}`;
  const childPaths = group.children.map((c) => ctx.paths.get(c.key) ?? '').filter(Boolean);
  return (
    <fieldset class="rule-group" data-group={group.op}>
      <legend>{label}</legend>
      <SelectField label={isRoot ? 'Contacts matching' : 'Match'} value={group.op} onValue={(v) => set((g) => ({ ...g, op: v as Group['op'] }))} options={MATCH} disabled={ctx.disabled} />
      <Unclaimed issues={ctx.issues} at={at} claimed={childPaths} />
      <ol class="rule-items">
        {group.children.map((child, i) => (
          <li key={child.key}>{child.type === 'group' ? <GroupBox group={child} ctx={ctx} index={[...index, i]} /> : <CondRow cond={child} ctx={ctx} label={`Condition ${[...index, i].map((n) => n + 1).join('.')}`} />}</li>
        ))}
      </ol>
      {!ctx.disabled && (
        <div class="actions">
          <button type="button" onClick={() => set((g) => ({ ...g, children: [...g.children, newCond()] }))}>
            Add condition
          </button>
          {depthOf(ctx.root, group.key) < MAX_BUILDER_DEPTH && (
            <button type="button" onClick={() => set((g) => ({ ...g, children: [...g.children, newGroup(g.op === 'and' ? 'or' : 'and')] }))}>
              Add group
            </button>
          )}
          {!isRoot && (
            <button type="button" onClick={() => ctx.onChange(updateItem(ctx.root, group.key, () => undefined))}>
              Remove group
            </button>
          )}
        </div>
      )}
    </fieldset>
  );
}

function CondRow({ cond: c, ctx, label }: { cond: Cond; ctx: Ctx; label: string }) {
  const at = ctx.paths.get(c.key) ?? '';
  const set = (patch: Partial<Cond>) => ctx.onChange(updateItem(ctx.root, c.key, (item) => ({ ...(item as Cond), ...patch })));
  const common = { issues: ctx.issues, disabled: ctx.disabled };
  const claimed: string[] = [];
  const p = (suffix: string) => {
    const full = suffix ? `${at}.${suffix}` : at;
    claimed.push(full);
    return full;
  };
  const ops = operatorsFor(c);
  const isField = FIELD_KINDS.some(([k]) => k === c.kind);
  const dateLike = c.kind === 'createdAt' || c.kind === 'updatedAt' || (c.kind === 'attribute' && c.valueType === 'date');
  const relative = c.op === 'withinLast' || c.op === 'moreThanAgo';

  const controls = [];
  if (c.kind === 'attribute') {
    controls.push(
      <TextField key="attr" label="Attribute" path={p('field')} {...common} value={c.attribute} onValue={(v) => set({ attribute: v })} placeholder="plan" autoComplete="off" />,
      <SelectField
        key="type"
        label="Type"
        {...common}
        value={c.valueType}
        onValue={(v) => set({ valueType: v as Cond['valueType'], value: '', value2: '' })}
        options={[
          ['text', 'text'],
          ['number', 'number'],
          ['boolean', 'yes / no'],
          ['date', 'date'],
        ]}
      />,
    );
  }
  if (c.kind === 'consent') controls.push(<SelectField key="ch" label="Channel" path={p('consent.channel')} {...common} value={c.channel} onValue={(v) => set({ channel: v })} options={CHANNELS} />);
  if (c.kind === 'behaviour') {
    controls.push(<SelectField key="ev" label="Event" path={p('behaviour.type')} {...common} value={c.event} onValue={(v) => set({ event: v })} options={EVENTS} />);
    if (c.event === 'custom') controls.push(<TextField key="evn" label="Event name (blank: any)" path={p('behaviour.name')} {...common} value={c.eventName} onValue={(v) => set({ eventName: v })} />);
    controls.push(<SelectField key="bch" label="Channel" path={p('behaviour.channel')} {...common} value={c.channel === 'email' || c.channel === 'sms' ? c.channel : ''} onValue={(v) => set({ channel: v })} options={[['', 'any channel'], ...CHANNELS]} />);
  }
  if (c.kind === 'score') {
    const learned = scoreChoice(c) === LEARNED_SCORE_ENTRY;
    controls.push(<SelectField key="sc" label="Score" path={learned ? undefined : p('score')} {...common} value={scoreChoice(c)} onValue={(v) => set(withScoreChoice(c, v))} options={SCORE_OPTIONS} />);
    // The typed name goes to the API as it is: the shared schema's message lands here when it is not a score.
    if (learned) {
      controls.push(
        <TextField
          key="scn"
          label="Learned score"
          hint="propensity.<goal> or uplift.<goal>, the goal being a conversion event such as purchase"
          path={p('score')}
          {...common}
          value={c.score}
          onValue={(v) => set({ score: v.trim() })}
          placeholder="propensity.purchase"
          autoComplete="off"
        />,
      );
    }
  }

  controls.push(
    <SelectField
      key="op"
      label="Operator"
      path={c.kind === 'behaviour' ? p('behaviour.count.op') : isField || c.kind === 'score' ? p('op') : undefined}
      {...common}
      value={c.op}
      onValue={(v) => set({ op: v, ...(v === 'exists' ? { value: 'true' } : c.op === 'exists' ? { value: '' } : {}) })}
      options={ops}
    />,
  );

  // The value: its control and the path it lands at depend on the kind and the operator.
  if (c.kind === 'reachable' || c.kind === 'suppressed' || c.kind === 'hasAddress') {
    controls.push(<SelectField key="v" label="Value" path={p(c.kind)} {...common} value={c.value} onValue={(v) => set({ value: v })} options={CHANNELS} />);
  } else if (c.kind === 'consent') {
    controls.push(
      <SelectField
        key="v"
        label="Value"
        path={p('consent.status')}
        {...common}
        value={c.value}
        onValue={(v) => set({ value: v })}
        options={[
          ['confirmed', 'confirmed'],
          ['pending', 'pending'],
          ['withdrawn', 'withdrawn'],
          ['none', 'none given'],
        ]}
      />,
    );
  } else if (c.kind === 'segment') {
    const options: Array<readonly [string, string]> = [['', 'Choose a segment'], ...ctx.segments];
    if (c.value && !ctx.segments.some(([id]) => id === c.value)) options.push([c.value, c.value]);
    controls.push(<SelectField key="v" label="Value" path={p('segment')} {...common} value={c.value} onValue={(v) => set({ value: v })} options={options} />);
  } else if (c.kind === 'behaviour') {
    controls.push(
      <TextField key="v" label="Value" hint="times" path={p('behaviour.count.value')} {...common} type="number" min={0} step={1} value={c.value} onValue={(v) => set({ value: v })} />,
      <TextField key="wa" label="Within the last" hint="blank: all history (400 days)" path={p('behaviour.within')} {...common} type="number" min={1} step={1} value={c.withinAmount} onValue={(v) => set({ withinAmount: v })} />,
      <SelectField key="wu" label="Unit" {...common} value={c.withinUnit} onValue={(v) => set({ withinUnit: v as Cond['withinUnit'] })} options={UNITS} />,
    );
  } else if (c.op === 'exists') {
    controls.push(
      <SelectField
        key="v"
        label="Value"
        path={p('value')}
        {...common}
        value={c.value || 'true'}
        onValue={(v) => set({ value: v })}
        options={[
          ['true', 'is present'],
          ['false', 'is missing'],
        ]}
      />,
    );
  } else if (relative) {
    controls.push(
      <TextField key="v" label="Value" path={p('amount')} {...common} type="number" min={1} step={1} value={c.value} onValue={(v) => set({ value: v })} />,
      <SelectField key="u" label="Unit" path={p('unit')} {...common} value={c.unit} onValue={(v) => set({ unit: v as Cond['unit'] })} options={UNITS} />,
    );
  } else if (c.kind === 'attribute' && c.valueType === 'boolean' && c.op !== 'in') {
    controls.push(
      <SelectField
        key="v"
        label="Value"
        path={p(c.op === 'between' ? 'values' : 'value')}
        {...common}
        value={c.value}
        onValue={(v) => set({ value: v })}
        options={[
          ['', 'Choose'],
          ['true', 'yes (true)'],
          ['false', 'no (false)'],
        ]}
      />,
    );
  } else {
    const type = dateLike && c.op !== 'in' ? 'date' : (c.kind === 'score' || (c.kind === 'attribute' && c.valueType === 'number')) && c.op !== 'in' ? 'number' : 'text';
    const between = c.op === 'between';
    controls.push(
      <TextField
        key="v"
        label="Value"
        hint={c.op === 'in' ? 'separate values with commas' : undefined}
        path={p(between ? 'values[0]' : c.op === 'in' ? 'values' : 'value')}
        {...common}
        type={type}
        step={type === 'number' ? 'any' : undefined}
        value={c.value}
        onValue={(v) => set({ value: v })}
      />,
    );
    if (between) controls.push(<TextField key="v2" label="Up to" path={p('values[1]')} {...common} type={type} step={type === 'number' ? 'any' : undefined} value={c.value2} onValue={(v) => set({ value2: v })} />);
  }

  return (
    <div class="rule-cond" role="group" aria-label={label} data-cond={c.kind}>
      <div class="row">
        <SelectField label="Field" {...common} value={c.kind} onValue={(v) => ctx.onChange(updateItem(ctx.root, c.key, (item) => withKind(item as Cond, v as CondKind)))} options={[...FIELD_KINDS, ...CHANNEL_KINDS, ...OTHER_KINDS]} />
        {controls}
        {!ctx.disabled && (
          <button type="button" class="remove" onClick={() => ctx.onChange(updateItem(ctx.root, c.key, () => undefined))} aria-label={`Remove ${label.toLowerCase()}`}>
            Remove
          </button>
        )}
      </div>
      <Unclaimed issues={ctx.issues} at={at} claimed={claimed} />
    </div>
  );
}

export type { Item };
