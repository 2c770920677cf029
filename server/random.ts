/**
 * Seeded pseudo-random numbers: every random choice in the backend (initialisation, shuffling,
 * dataset subsets and splits, synthetic data) draws from one of these so that a config and seed
 * reproduce a run exactly.
 */
export interface RngState {
  state: number;
  spare?: number;
}

export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    // splitmix-style scramble so that nearby seeds give unrelated streams
    let s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    this.state = (s ^ (s >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller), times std plus mean. */
  normal(mean = 0, std = 1): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** The generator's state (JSON), to continue the same stream after a restart. */
  snapshot(): RngState {
    return this.spare === undefined ? { state: this.state } : { state: this.state, spare: this.spare };
  }

  static restore(s: RngState): Rng {
    if (!s || !Number.isInteger(s.state) || s.state < 0 || s.state > 0xffffffff) throw new Error('random state: expected {state: uint32}');
    const r = new Rng(0);
    r.state = s.state;
    r.spare = typeof s.spare === 'number' && Number.isFinite(s.spare) ? s.spare : undefined;
    return r;
  }

  /** A child generator with an independent stream (for sub-tasks that must not shift the parent). */
  fork(label: number): Rng {
    return new Rng(Math.floor(this.next() * 0x7fffffff) ^ Math.imul(label + 1, 0x27d4eb2d));
  }
}
