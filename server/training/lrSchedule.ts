/**
 * Learning-rate schedules (experiment fields `training.lrSchedule` and `growth.afterGrow`), pure.
 *
 * Time is the fractional epoch `t` at the start of a step: (epoch − 1) + batch / stepsPerEpoch, so
 * the first step of epoch 1 is at t = 0 and the last epoch ends at t = epochs. A schedule runs in
 * segments: the run starts one at t = 0 with `training.learningRate`; with `growth.afterGrow`
 * (`learningRate` or `warmupEpochs` given) each grow starts a new one at the grow's t. Inside a segment
 * that starts at s with base rate b and warmup W:
 *
 * - warmup (linear, Goyal et al. 2017 §2.2): while t − s < W, b · (t − s + dt) / W, where dt is one
 *   step in epochs, so the last warmup step reaches b;
 * - `constant`: b;
 * - `step` (PyTorch's MultiStepLR): b · gamma^k, k = the milestones m (absolute epochs) with
 *   s < m ≤ floor(t), i.e. the rate drops once `m` epochs are complete;
 * - `cosine` (SGDR, Loshchilov & Hutter 2017 eq. 5, per step): min + (b − min) · (1 + cos(π · T / Tmax)) / 2
 *   with T = t − s − W and Tmax = epochs − s − W, from b after the warmup to `minLearningRate` at the end.
 *
 * `afterGrow.decay` multiplies every rate after the k-th grow by decay^k (on top of any restart).
 */
import type { AfterGrowConfig, LrScheduleConfig } from '../../common/protocol';

/** Where the schedule stands: the current segment and the decay factor so far (kept in checkpoints). */
export interface LrState {
  /** Fractional epoch the current segment started at. */
  start: number;
  /** The segment's base rate (before `scale`). */
  base: number;
  /** The segment's linear warmup, in epochs. */
  warmup: number;
  /** Product of afterGrow.decay over the grows so far. */
  scale: number;
}

export const CONSTANT_SCHEDULE: LrScheduleConfig = { type: 'constant', milestones: [], gamma: 0.1, minLearningRate: 0, warmupEpochs: 0 };

/** The state a run starts in. */
export function initialLrState(schedule: LrScheduleConfig, learningRate: number): LrState {
  return { start: 0, base: learningRate, warmup: schedule.warmupEpochs, scale: 1 };
}

/**
 * The rate of the step starting at fractional epoch `t` (one step lasting `dt` epochs) of a run of
 * `epochs` epochs.
 */
export function learningRateAt(schedule: LrScheduleConfig, state: LrState, epochs: number, t: number, dt: number): number {
  const { start: s, base: b, warmup: w, scale } = state;
  const since = t - s;
  if (since < w) return scale * b * Math.min(1, Math.max(0, since + dt) / w);
  switch (schedule.type) {
    case 'constant':
      return scale * b;
    case 'step': {
      const done = Math.floor(t);
      let rate = b;
      for (const m of schedule.milestones) if (m > s && m <= done) rate *= schedule.gamma;
      return scale * rate;
    }
    case 'cosine': {
      const span = epochs - s - w;
      const lo = Math.min(schedule.minLearningRate, b);
      if (span <= 0) return scale * b;
      const progress = Math.min(1, Math.max(0, (since - w) / span));
      return scale * (lo + ((b - lo) * (1 + Math.cos(Math.PI * progress))) / 2);
    }
  }
}

/**
 * The state after a grow at fractional epoch `t`: a new segment when afterGrow restarts the rate
 * (`learningRate` or `warmupEpochs`), and the decay applied; unchanged without afterGrow.
 */
export function lrStateAfterGrow(state: LrState, after: AfterGrowConfig | undefined, learningRate: number, t: number): LrState {
  if (!after) return state;
  const restart = after.learningRate !== undefined || after.warmupEpochs !== undefined;
  return {
    start: restart ? t : state.start,
    base: restart ? (after.learningRate ?? learningRate) : state.base,
    warmup: restart ? (after.warmupEpochs ?? 0) : state.warmup,
    scale: state.scale * (after.decay ?? 1),
  };
}

/** An LrState read from a checkpoint's meta (untrusted): the state, or why it is unusable. */
export function parseLrState(v: unknown): LrState | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'lrSchedule must be an object';
  const o = v as Record<string, unknown>;
  for (const k of ['start', 'base', 'warmup', 'scale'] as const) {
    const x = o[k];
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) return `lrSchedule.${k} must be a finite number >= 0`;
  }
  return { start: o.start as number, base: o.base as number, warmup: o.warmup as number, scale: o.scale as number };
}

/**
 * A run's schedule: the rate for each step and the state grows change. `now` is the fractional
 * epoch of the next step (the epoch loop keeps it current), which is where a grow restarts it.
 */
export class LrScheduler {
  now = 0;
  constructor(
    readonly schedule: LrScheduleConfig,
    readonly learningRate: number,
    readonly epochs: number,
    readonly afterGrow: AfterGrowConfig | undefined,
    public state: LrState = initialLrState(schedule, learningRate),
  ) {}

  /** The rate of the step at fractional epoch `t` lasting `dt` epochs. */
  rate(t: number, dt: number): number {
    return learningRateAt(this.schedule, this.state, this.epochs, t, dt);
  }

  /** A grow was committed at `now`. */
  grew(): void {
    this.state = lrStateAfterGrow(this.state, this.afterGrow, this.learningRate, this.now);
  }
}
