/**
 * The exponential moving average of per-minibatch ΔL estimates (Lawton et al. §3.3). The paper's
 * momentum is B / (2 N) (App. B: 64/50000 × 1/2, "approximately an average over the last 2 epochs"),
 * i.e. decay 1 − B/(2N). A grow step here runs far fewer minibatches than 2 epochs, so the average is
 * bias-corrected (divided by 1 − decay^t, as Adam does; the paper is silent): with decay near 1 that is
 * close to the plain mean of the minibatches seen.
 */
export class Ema {
  private readonly sum: Float64Array;
  private t = 0;

  constructor(
    size: number,
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA decay must be in [0, 1), got ${decay}`);
    this.sum = new Float64Array(size);
  }

  /** The paper's default decay for minibatches of `batch` out of `trainSize` examples. */
  static paperDecay(batch: number, trainSize: number): number {
    return Math.max(0, 1 - batch / (2 * trainSize));
  }

  update(x: ArrayLike<number>): void {
    if (x.length !== this.sum.length) throw new Error(`EMA of ${this.sum.length} values updated with ${x.length}`);
    for (let i = 0; i < x.length; i++) this.sum[i] = this.decay * this.sum[i] + (1 - this.decay) * x[i];
    this.t++;
  }

  /** The bias-corrected average (zeros before any update). */
  value(): Float64Array {
    const c = this.t === 0 ? 1 : 1 - Math.pow(this.decay, this.t);
    return this.sum.map((v) => v / c);
  }
}
