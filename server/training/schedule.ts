/** When a run grows by itself: every k epochs and/or on a loss plateau, within maxParams/maxGrowSteps. */
import type { GrowthConfig } from '../../common/protocol';

export class GrowSchedule {
  private best = Number.POSITIVE_INFINITY;
  private sinceBest = 0;

  constructor(private readonly cfg: GrowthConfig) {}

  /** Called after each epoch's evaluation; true when a grow step is due now. */
  due(epoch: number, losses: { trainLoss: number; testLoss?: number }, params: number, growSteps: number): boolean {
    const { every, plateau } = this.cfg.schedule;
    let due = every !== undefined && epoch % every === 0;
    if (plateau) {
      const v = plateau.metric === 'trainLoss' ? losses.trainLoss : (losses.testLoss ?? losses.trainLoss);
      if (v < this.best - plateau.minDelta) {
        this.best = v;
        this.sinceBest = 0;
      } else if (++this.sinceBest >= plateau.patience) {
        due = true;
      }
    }
    if (!due) return false;
    if (this.cfg.maxParams !== undefined && params >= this.cfg.maxParams) return false;
    if (this.cfg.maxGrowSteps !== undefined && growSteps >= this.cfg.maxGrowSteps) return false;
    // After a grow the loss landscape changed: measure the plateau afresh.
    this.best = Number.POSITIVE_INFINITY;
    this.sinceBest = 0;
    return true;
  }
}
