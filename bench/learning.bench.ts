import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Channel } from '../shared/contacts/model.ts';
import { bgNbdKey, bgNbdRowsFromCounts, btydGate, fitBgNbd, fitGammaGamma, gammaGammaRowOf, type BtydCustomer } from '../shared/learning/btyd.ts';
import { encode, featureNames, fitFeatureSpec, hourBucketOf, type FeatureInput, type FeatureSpec } from '../shared/learning/features.ts';
import { sigmoid, type SparseVector } from '../shared/learning/logistic.ts';
import { auc, qini } from '../shared/learning/metrics.ts';
import { contactHashOf, decodePart, DEFAULT_STRATUM_SIZE, encodePart, foldOf, mergeParts, SampleBuilder, sampleWeight, type SamplePart } from '../shared/learning/sample.ts';
import { trainPropensity, trainUplift, type StoredModel } from '../shared/learning/train.ts';
import { BTYD_REFERENCE_RECIPE, simulateCustomers } from '../test/helpers/btyd-simulate.ts';
import { syntheticExamples, type SyntheticExample } from '../test/helpers/learning-synthetic.ts';
import { print, prng, type Figure } from './harness.ts';

/**
 * The learned models end to end, in process and without DynamoDB (docs/learning-design.md,
 * "Bench"): 1,000,000 sends to 100,000 contacts (10 campaigns, each holding out 10 %, with the
 * synthetic generator's true uplift), encoded and sampled in 16 parts as the 16 scan segments
 * would, each part through the binary codec (written to a temporary directory, standing in for
 * the learning bucket) and merged one part at a time (so no more than one decoded part is held
 * beside the sample), then the propensity and uplift models for one goal, BG/NBD and
 * Gamma–Gamma on 100,000 summarised customers, and scoring of the 100,000 contacts.
 *
 * One run (training is minutes, not repeatable in a median): the figures are that run's. Peak
 * RSS is sampled every 100 ms by a worker thread (the main thread is busy for whole phases, so
 * a timer there would not fire); the worker's own few MB are included. The kernel's high-water
 * mark (`resourceUsage().maxRSS`) is printed beside it.
 *
 * Data: `syntheticExamples` gives 100,000 people with their true treated and control
 * probabilities; each campaign redraws, from a bench-local mulberry32, who is held out, the
 * channel (among the reachable ones), the hour bucket, the weekend flag and the outcome. A
 * contact's features are the same in every campaign (the generator has one snapshot per contact).
 */

const CONTACTS = 100_000;
const CAMPAIGNS = 10;
const SEGMENTS = 16;
const HOLDOUT_SHARE = 0.1;
const GOAL = 'purchase';
const SEED = 20_261_206;
const EXPOSED_FROM = Date.parse('2026-09-01T00:00:00.000Z');
const CAMPAIGN_SPACING_MS = 7 * 86_400_000;
const REVENUE = 40;
const SCORING_HOUR = 10;
const MB = 1024 * 1024;

const TARGET_TRAINING_S = 120;
const TARGET_RSS_MB = 1200;
const TARGET_SCORED_PER_S = 50_000;

/** Peak RSS sampling in a worker thread: slot 0 the run's peak, slot 1 the current phase's. */
function startRssSampler(): { peak: () => number; phasePeak: () => number; resetPhase: () => void; stop: () => Promise<number> } {
  const shared = new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT);
  const slots = new Float64Array(shared);
  const source = `
    const { workerData } = require('node:worker_threads');
    const slots = new Float64Array(workerData);
    const sample = () => { const rss = process.memoryUsage.rss(); if (rss > slots[0]) slots[0] = rss; if (rss > slots[1]) slots[1] = rss; };
    sample();
    setInterval(sample, 100);
  `;
  const worker = new Worker(source, { eval: true, workerData: shared });
  return {
    peak: () => slots[0]!,
    phasePeak: () => slots[1]!,
    resetPhase: () => (slots[1] = process.memoryUsage.rss()),
    stop: () => worker.terminate(),
  };
}

/** One campaign's draws for every contact, in typed arrays (1 M sends would not fit as objects). */
interface Sends {
  /** 1 treated, 0 held out; per send s = campaign · CONTACTS + contact. */
  readonly treated: Uint8Array;
  /** 0 none (control), 1 email, 2 sms. */
  readonly channel: Uint8Array;
  /** Hour bucket 0–5, or 255 for a control. */
  readonly hourBucket: Uint8Array;
  readonly weekend: Uint8Array;
  readonly label: Uint8Array;
}

const CHANNELS: readonly (Channel | null)[] = [null, 'email', 'sms'];

/** The campaigns' draws for the population: arm, channel among the reachable ones, hour bucket, weekend, outcome from the true probability of the arm. */
function drawSends(people: readonly SyntheticExample[]): Sends {
  const n = CAMPAIGNS * CONTACTS;
  const sends: Sends = { treated: new Uint8Array(n), channel: new Uint8Array(n), hourBucket: new Uint8Array(n), weekend: new Uint8Array(n), label: new Uint8Array(n) };
  const draw = prng(SEED + 1);
  for (let c = 0; c < CAMPAIGNS; c++) {
    for (let i = 0; i < CONTACTS; i++) {
      const s = c * CONTACTS + i;
      const person = people[i]!;
      const treated = draw() >= HOLDOUT_SHARE;
      sends.treated[s] = treated ? 1 : 0;
      if (treated) {
        const reachable = (['email', 'sms'] as const).filter((ch) => person.input.reachable[ch]);
        sends.channel[s] = CHANNELS.indexOf(reachable[Math.floor(draw() * reachable.length)]!);
        sends.hourBucket[s] = Math.floor(draw() * 6);
      } else sends.hourBucket[s] = 255;
      sends.weekend[s] = draw() < 2 / 7 ? 1 : 0;
      sends.label[s] = draw() < (treated ? person.pTreated : person.pControl) ? 1 : 0;
    }
  }
  return sends;
}

/** The FeatureInput of send s: the contact's snapshot with the send's channel, hour bucket and weekend flag. */
function inputOf(people: readonly SyntheticExample[], sends: Sends, s: number): FeatureInput {
  const hour = sends.hourBucket[s]!;
  return { ...people[s % CONTACTS]!.input, channel: CHANNELS[sends.channel[s]!]!, hourBucket: hour === 255 ? null : hour, weekend: sends.weekend[s] === 1 };
}

/** σ(intercept + x·β) for a stored model (what the scorer computes per contact). */
function probability(model: StoredModel, weights: Float64Array, vector: SparseVector): number {
  let eta = model.intercept;
  for (let k = 0; k < vector.indices.length; k++) eta += vector.values[k]! * weights[vector.indices[k]!]!;
  return sigmoid(eta);
}

const seconds = (fromMs: number) => (performance.now() - fromMs) / 1000;
const mb = (bytes: number) => bytes / MB;

export async function run(): Promise<void> {
  const sampler = startRssSampler();
  /** Per phase: seconds, the sampled RSS peak, and at its end the V8 heap in use and the ArrayBuffers (typed arrays' backing stores) alive. */
  const phases: { name: string; s: number; peakMb: number; heapMb: number; arrayBuffersMb: number }[] = [];
  const phase = <T>(name: string, fn: () => T): T => {
    sampler.resetPhase();
    const start = performance.now();
    const result = fn();
    const s = seconds(start);
    const memory = process.memoryUsage();
    phases.push({ name, s, peakMb: mb(sampler.phasePeak()), heapMb: mb(memory.heapUsed), arrayBuffersMb: mb(memory.arrayBuffers) });
    return result;
  };

  // --- generate -----------------------------------------------------------------------------
  const { people, sends } = phase('generate (100,000 people, 1,000,000 sends)', () => {
    const people = syntheticExamples({ seed: SEED, contacts: CONTACTS, uplift: 'true', holdoutShare: HOLDOUT_SHARE });
    return { people, sends: drawSends(people) };
  });
  const contactIds = people.map((p) => p.contactId);
  const spec: FeatureSpec = phase('feature spec (fitFeatureSpec, first campaign)', () => fitFeatureSpec(Array.from({ length: CONTACTS }, (_, i) => inputOf(people, sends, i))));
  const names = featureNames(spec);
  const columns = names.length;

  // --- encode + sample in 16 parts, each through the codec to a file -------------------------
  const dir = mkdtempSync(path.join(tmpdir(), 'touchloop-learning-bench-'));
  /** Running totals of the scan and codec: time in encode (ms) and the part codec (s), bytes, rows, non-zeros. */
  const tally = { encodeMs: 0, partEncodeS: 0, partDecodeS: 0, partBytes: 0, encodedRows: 0, nonZeros: 0 };
  const files: string[] = [];
  try {
    phase('encode + sample + encodePart (16 parts)', () => {
      for (let segment = 0; segment < SEGMENTS; segment++) {
        const builder = new SampleBuilder(columns, DEFAULT_STRATUM_SIZE);
        // Segment `segment` scans the contacts i ≡ segment (mod 16), each contact's sends whole.
        for (let i = segment; i < CONTACTS; i += SEGMENTS) {
          for (let c = 0; c < CAMPAIGNS; c++) {
            const s = c * CONTACTS + i;
            const encodeStart = performance.now();
            const vector = encode(inputOf(people, sends, s), spec);
            tally.encodeMs += performance.now() - encodeStart;
            tally.nonZeros += vector.indices.length;
            tally.encodedRows++;
            const label = sends.label[s] === 1 ? 1 : 0;
            builder.add({ goal: GOAL, campaignId: `campaign-${c}`, contactId: contactIds[i]!, label, treated: sends.treated[s] === 1 ? 1 : 0, holdoutShare: HOLDOUT_SHARE, exposedAt: EXPOSED_FROM + c * CAMPAIGN_SPACING_MS, revenue: label ? REVENUE : 0, vector });
          }
        }
        const part = builder.finish();
        const start = performance.now();
        const bytes = encodePart(part);
        tally.partEncodeS += seconds(start);
        tally.partBytes += bytes.byteLength;
        const file = path.join(dir, `part-${String(segment).padStart(2, '0')}.bin`);
        writeFileSync(file, bytes);
        files.push(file);
      }
    });

    // --- decode and merge one part at a time, dropping each after merging ----------------------
    let mergeS = 0;
    let sample: SamplePart | undefined;
    phase('codec decode + merge (one part at a time)', () => {
      for (const file of files) {
        // A plain Uint8Array copy, not the Buffer readFileSync returns: decodePart's byte copies
        // use `bytes.slice(...).buffer`, and Buffer.slice is a view over the whole buffer, so a
        // Buffer gives every example the whole file (and throws on a misaligned length).
        const bytes = new Uint8Array(readFileSync(file));
        const start = performance.now();
        const part = decodePart(bytes);
        const decoded = performance.now();
        tally.partDecodeS += (decoded - start) / 1000;
        sample = mergeParts(sample ? [sample, part] : [part], DEFAULT_STRATUM_SIZE);
        mergeS += seconds(decoded);
      }
    });
    const merged = sample!;
    const config = { goal: GOAL, featureNames: names };

    // --- fit -------------------------------------------------------------------------------------
    const propensity = phase('fit propensity (3 λ)', () => trainPropensity(merged, config));
    const uplift = phase('fit uplift (3 λ, Qini bootstrap 200)', () => trainUplift(merged, propensity, config));

    // --- the true model on the same test rows ----------------------------------------------------
    const contactOf = new Map(contactIds.map((id, i) => [contactHashOf(GOAL, id), i]));
    const testTreated = { model: [] as number[], truth: [] as number[], base: [] as number[], y: [] as number[], w: [] as number[] };
    const testUplift = { truth: [] as number[], y: [] as number[], treated: [] as number[], w: [] as number[] };
    const propensityWeights = propensity.model ? Float64Array.from(propensity.model.weights) : null;
    for (const stratum of merged.strata) {
      const w = sampleWeight(stratum);
      for (const e of stratum.examples) {
        if (foldOf(e.contactHash) < 8) continue;
        const person = people[contactOf.get(e.contactHash)!]!;
        if (e.treated === 1 && propensity.model && propensityWeights) {
          testTreated.model.push(probability(propensity.model, propensityWeights, e));
          testTreated.truth.push(person.pTreated);
          testTreated.base.push(person.pControl);
          testTreated.y.push(e.label);
          testTreated.w.push(w);
        }
        testUplift.truth.push(person.pTreated - person.pControl);
        testUplift.y.push(e.label);
        testUplift.treated.push(e.treated);
        testUplift.w.push(w * (e.treated === 1 ? 1 / (1 - e.holdoutShare) : 1 / e.holdoutShare));
      }
    }
    const modelAuc = propensityWeights ? auc(testTreated.model, testTreated.y, testTreated.w) : Number.NaN;
    const trueAuc = auc(testTreated.truth, testTreated.y, testTreated.w);
    const baseAuc = auc(testTreated.base, testTreated.y, testTreated.w);
    const trueQini = qini({ uplift: testUplift.truth, y: testUplift.y, treated: testUplift.treated, weight: testUplift.w }).coefficient;

    // --- BTYD from summarised customers ----------------------------------------------------------
    const { bgNbd, gammaGamma, gate } = phase('BTYD (BG/NBD + Gamma–Gamma, 100,000 customers)', () => {
      const { bgNbd: truth, gammaGamma: spendTruth, windowDays } = BTYD_REFERENCE_RECIPE;
      const customers: BtydCustomer[] = simulateCustomers(SEED + 2, CONTACTS, truth, spendTruth, { windowDays }).map((c) => ({ x: c.x, tx: c.tx, T: c.T, meanSpend: c.spends.reduce((sum, v) => sum + v, 0) / c.spends.length }));
      const counts = new Map<string, number>();
      for (const c of customers) {
        const key = bgNbdKey(c.x, c.tx, c.T);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const rows = bgNbdRowsFromCounts(counts);
      return { bgNbd: fitBgNbd(rows), gammaGamma: fitGammaGamma(customers.map(gammaGammaRowOf)), gate: btydGate(rows) };
    });

    // --- scoring ----------------------------------------------------------------------------------
    // Per contact, the input the scorer would build with inputNow (here the generator's snapshot):
    // the channel it would get (email first) at the planned hour, and for uplift the control
    // input without a channel. Two passes: propensity alone (one encode, one dot product), then
    // propensity and uplift (two encodes, three dot products).
    let scoredChecksum = 0;
    const hourBucket = hourBucketOf(SCORING_HOUR);
    const sentInput = (base: SyntheticExample['input']): FeatureInput => ({ ...base, channel: base.reachable.email ? 'email' : 'sms', hourBucket, weekend: false });
    const treatment = uplift.treatment;
    const control = uplift.control;
    const treatmentWeights = treatment ? Float64Array.from(treatment.weights) : null;
    const controlWeights = control ? Float64Array.from(control.weights) : null;
    let propensityOnlyS = 0;
    phase('scoring, propensity only (100,000 contacts)', () => {
      const start = performance.now();
      for (let i = 0; i < CONTACTS; i++) {
        const sent = encode(sentInput(people[i]!.input), spec);
        scoredChecksum += propensity.model && propensityWeights ? probability(propensity.model, propensityWeights, sent) : 0;
      }
      propensityOnlyS = seconds(start);
    });
    let scoringS = 0;
    phase('scoring, propensity + uplift (100,000 contacts)', () => {
      const start = performance.now();
      for (let i = 0; i < CONTACTS; i++) {
        const base = people[i]!.input;
        const sent = encode(sentInput(base), spec);
        const p = propensity.model && propensityWeights ? probability(propensity.model, propensityWeights, sent) : 0;
        let u = 0;
        if (treatment && control && treatmentWeights && controlWeights) {
          const held = encode({ ...base, channel: null, hourBucket: null, weekend: false }, spec);
          u = probability(treatment, treatmentWeights, sent) - probability(control, controlWeights, held);
        }
        scoredChecksum += p + u;
      }
      scoringS = seconds(start);
    });

    // --- print ------------------------------------------------------------------------------------
    const peakRss = mb(sampler.peak());
    const trainingS = phases.filter((p) => /merge|fit/.test(p.name)).reduce((sum, p) => sum + p.s, 0);
    const propensityJson = Buffer.byteLength(JSON.stringify(propensity));
    const upliftJson = Buffer.byteLength(JSON.stringify(uplift));
    const specJson = Buffer.byteLength(JSON.stringify(spec));
    const btydJson = Buffer.byteLength(JSON.stringify({ bgNbd, gammaGamma, gate }));
    const kept = merged.strata.reduce((sum, s) => sum + s.examples.length, 0);

    console.log(
      `\nLearning: ${CONTACTS.toLocaleString('en-US')} contacts, ${CAMPAIGNS} campaigns, ${(CONTACTS * CAMPAIGNS).toLocaleString('en-US')} sends (${HOLDOUT_SHARE * 100} % holdouts), ${SEGMENTS} parts, k = ${DEFAULT_STRATUM_SIZE.toLocaleString('en-US')} per stratum`,
    );
    print(
      'Time per phase (one run)',
      phases.map((p): Figure => ({ name: `${p.name} [peak ${Math.round(p.peakMb)} MB]`, value: p.s, unit: 's' })),
    );
    print(
      'Memory at the end of each phase: V8 heap used / ArrayBuffers alive (MB)',
      phases.map((p): Figure => ({ name: `${p.name}: heap ${Math.round(p.heapMb)} MB, ArrayBuffers`, value: p.arrayBuffersMb, unit: 'MB' })),
    );
    print('Codec and merge', [
      { name: 'encode (features.ts), 1,000,000 sends', value: tally.encodeMs / 1000, unit: 's' },
      { name: 'encode per send', value: (tally.encodeMs * 1000) / tally.encodedRows, unit: 'µs' },
      { name: 'encodePart, 16 parts', value: tally.partEncodeS, unit: 's' },
      { name: 'decodePart, 16 parts', value: tally.partDecodeS, unit: 's' },
      { name: 'mergeParts, incremental (16 merges)', value: mergeS, unit: 's' },
      { name: 'encoded part bytes, all 16 parts', value: mb(tally.partBytes), unit: 'MB' },
      { name: 'bytes per example', value: tally.partBytes / tally.encodedRows, unit: 'B' },
      { name: 'non-zeros per example', value: tally.nonZeros / tally.encodedRows, unit: '' },
    ]);
    print('Targets', [
      { name: 'training per goal (decode + merge + propensity + uplift)', value: trainingS, unit: 's', target: `≤ ${TARGET_TRAINING_S} s: ${trainingS <= TARGET_TRAINING_S ? 'met' : 'MISSED'}` },
      { name: 'peak RSS, sampled every 100 ms', value: peakRss, unit: 'MB', target: `≤ ${TARGET_RSS_MB} MB: ${peakRss <= TARGET_RSS_MB ? 'met' : 'MISSED'}` },
      { name: 'peak RSS, kernel high-water mark (maxRSS)', value: process.resourceUsage().maxRSS / 1024, unit: 'MB' },
      { name: 'contacts scored per second, propensity + uplift', value: CONTACTS / scoringS, unit: '/s', target: `≥ ${TARGET_SCORED_PER_S.toLocaleString('en-US')}/s: ${CONTACTS / scoringS >= TARGET_SCORED_PER_S ? 'met' : 'MISSED'}` },
      { name: 'contacts scored per second, propensity only', value: CONTACTS / propensityOnlyS, unit: '/s' },
    ]);
    print(
      `Sample: ${kept.toLocaleString('en-US')} examples kept (stratum: arm/label, total seen → kept)`,
      merged.strata.map((s): Figure => ({ name: `${s.treated ? 'treated' : 'control'}, label ${s.label}: ${s.total.toLocaleString('en-US')} seen, kept`, value: s.examples.length, unit: '' })),
    );
    print('Propensity (test fold, treated, sampling-weighted)', [
      { name: `test AUC, trainer (status ${propensity.status}, λ ${propensity.lambda})`, value: propensity.metrics?.auc ?? Number.NaN, unit: '' },
      { name: 'test AUC, the fitted model recomputed on the same rows', value: modelAuc, unit: '' },
      { name: 'test AUC, the true probabilities on the same rows', value: trueAuc, unit: '' },
      { name: 'test AUC, the true logistic part alone (no uplift shift)', value: baseAuc, unit: '' },
      { name: 'AUC lower 95 % bound (Hanley–McNeil)', value: propensity.metrics?.aucLower95 ?? Number.NaN, unit: '' },
      { name: 'Brier skill', value: propensity.metrics?.brierSkill ?? Number.NaN, unit: '' },
      { name: 'ECE', value: propensity.metrics?.ece ?? Number.NaN, unit: '' },
    ]);
    // Qini coefficients are incremental conversions per treated contact: printed per 1,000.
    const perThousand = (q: number | undefined) => (q ?? Number.NaN) * 1000;
    print('Uplift (test fold, both arms, sampling × arm-balance weights; Qini per 1,000 treated)', [
      { name: `Qini coefficient (status ${uplift.status}, λ ${uplift.lambda})`, value: perThousand(uplift.metrics?.qiniCoefficient), unit: '‰' },
      { name: 'Qini lower bound (bootstrap 2.5th percentile)', value: perThousand(uplift.metrics?.qiniLower), unit: '‰' },
      { name: 'Qini upper bound (97.5th percentile)', value: perThousand(uplift.metrics?.qiniUpper), unit: '‰' },
      { name: 'Qini coefficient of the true uplift on the same rows', value: perThousand(trueQini), unit: '‰' },
    ]);
    print(`BTYD (gate ${gate.status}: ${gate.reason})`, [
      { name: `BG/NBD r (true ${BTYD_REFERENCE_RECIPE.bgNbd.r}, converged ${bgNbd.converged})`, value: bgNbd.r, unit: '' },
      { name: `BG/NBD α (true ${BTYD_REFERENCE_RECIPE.bgNbd.alpha})`, value: bgNbd.alpha, unit: '' },
      { name: `BG/NBD a (true ${BTYD_REFERENCE_RECIPE.bgNbd.a})`, value: bgNbd.a, unit: '' },
      { name: `BG/NBD b (true ${BTYD_REFERENCE_RECIPE.bgNbd.b})`, value: bgNbd.b, unit: '' },
      { name: `Gamma–Gamma p (true ${BTYD_REFERENCE_RECIPE.gammaGamma.p}, converged ${gammaGamma.converged})`, value: gammaGamma.p, unit: '' },
      { name: `Gamma–Gamma q (true ${BTYD_REFERENCE_RECIPE.gammaGamma.q})`, value: gammaGamma.q, unit: '' },
      { name: `Gamma–Gamma v (true ${BTYD_REFERENCE_RECIPE.gammaGamma.v})`, value: gammaGamma.v, unit: '' },
    ]);
    print('Version JSON sizes', [
      { name: 'propensity version (JSON)', value: propensityJson / 1024, unit: 'KB' },
      { name: 'uplift version (JSON)', value: upliftJson / 1024, unit: 'KB' },
      { name: 'feature spec (JSON, stored with each version)', value: specJson / 1024, unit: 'KB' },
      { name: 'BTYD fits and gate (JSON)', value: btydJson / 1024, unit: 'KB' },
    ]);
    const fits = (candidates: typeof propensity.candidates) => candidates.map((c) => `λ ${c.lambda}: ${c.iterations} iterations${c.converged ? '' : ' (not converged)'}, validation log-loss ${c.validationLogLoss.toFixed(5)}`).join('; ');
    console.log(`\n  propensity fits: ${fits(propensity.candidates)}`);
    console.log(`  uplift control fits: ${fits(uplift.candidates)}`);
    console.log(`  propensity: ${propensity.status}: ${propensity.reason}`);
    console.log(`  uplift: ${uplift.status}: ${uplift.reason}`);
    console.log(`  (scoring checksum ${scoredChecksum.toFixed(3)})`);
  } finally {
    await sampler.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
