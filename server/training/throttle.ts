/** At most one event per interval; the latest value wins and a forced send always goes out. */
export class Throttle<T> {
  private last = -Infinity;
  constructor(
    private readonly intervalMs: number,
    private readonly send: (v: T) => void,
    private readonly now = () => performance.now(),
  ) {}

  offer(v: T, force = false): boolean {
    const t = this.now();
    if (!force && t - this.last < this.intervalMs) return false;
    this.last = t;
    this.send(v);
    return true;
  }
}
