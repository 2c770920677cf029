/**
 * Augmented training batches off the step's critical path. onnxruntime-node runs a session on the
 * JavaScript thread (its `run` is synchronous behind a setImmediate), so preparing batch k+1 "between
 * awaits" would still serialise with step k. Instead a worker thread builds it: while step k runs,
 * the worker crops and flips batch k+1 into the other of two shared buffers (double buffering), and
 * the loop takes it when step k is done. Both threads run the same `augmentRows` on the same draws,
 * so the batches are bit-identical to building them in place (`inline`: the fallback where a worker
 * cannot start, and the reference the tests compare with).
 */
import { Worker } from 'node:worker_threads';
import { augmentRows, type EpochDraws, type ImageAugment, type ImageShape } from './augment';

/** The worker: `augmentRows` by its own source, and a message loop. Kept as text: no file to locate in the bundle. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const augmentRows = ${augmentRows.toString()};
const { src, table, shape, pad, fill, outs } = workerData;
parentPort.on('message', (m) => {
  try {
    augmentRows(src, table, m.rows, m.count, shape.c, shape.h, shape.w, pad, fill, m.dx, m.dy, m.flip, 0, outs[m.slot]);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

/** A source array the worker can read without a copy: the same one when it is shared already. */
function sharedCopy<T extends Float32Array | Uint8Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): T };
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

export interface AugmentPipelineOptions {
  /** Training rows [n, C, H, W]: floats, or uint8 pixels read through `table`. */
  src: Float32Array | Uint8Array;
  table?: Float32Array;
  shape: ImageShape;
  augment: ImageAugment;
  /** The value of padded pixels, per channel (0, or −mean/std after normalisation). */
  fill: Float32Array;
  maxBatch: number;
  /** Build batches on this thread (no worker). */
  inline?: boolean;
}

export class AugmentPipeline {
  private readonly outs: Float32Array[];
  /**
   * onnxruntime-node refuses views of a SharedArrayBuffer: a finished batch is copied (one memcpy) to
   * the plain buffer of its slot, so batch k+1 arriving never touches the input of step k.
   */
  private readonly plain: Float32Array[];
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failed: Error | undefined;
  private readonly f: number;
  /** Whether batches are built by a worker thread (false: inline, on this thread). */
  readonly threaded: boolean;

  constructor(private readonly o: AugmentPipelineOptions) {
    this.f = o.shape.c * o.shape.h * o.shape.w;
    const threaded = !o.inline;
    const alloc = () =>
      new Float32Array(threaded ? new SharedArrayBuffer(o.maxBatch * this.f * 4) : new ArrayBuffer(o.maxBatch * this.f * 4));
    this.outs = [alloc(), alloc()];
    this.plain = threaded ? [new Float32Array(o.maxBatch * this.f), new Float32Array(o.maxBatch * this.f)] : this.outs;
    if (threaded) {
      const src = sharedCopy(o.src);
      this.worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { src, table: o.table ?? null, shape: o.shape, pad: o.augment.pad, fill: o.fill, outs: this.outs },
      });
      this.worker.unref();
      this.worker.on('message', (m: { id: number; error?: string }) => {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error) w?.reject(new Error(`augmentation worker: ${m.error}`));
        else w?.resolve();
      });
      this.worker.on('error', (e) => this.fail(e));
      this.worker.on('exit', (code) => this.fail(new Error(`augmentation worker exited (code ${code})`)));
    }
    this.threaded = threaded;
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /**
   * Starts building rows order[start..start+n) with draws[start..] into buffer `slot` (0 or 1);
   * resolves with a view of it. The slot must not be in use by a running step. The view is valid
   * until the next batch of the same slot is asked for.
   */
  batch(order: ArrayLike<number>, start: number, n: number, draws: EpochDraws, slot: 0 | 1): Promise<Float32Array> {
    const out = this.outs[slot].subarray(0, n * this.f);
    if (this.failed) return Promise.reject(this.failed);
    const rows = Int32Array.from({ length: n }, (_, i) => order[start + i]);
    if (!this.worker) {
      const { shape: s, augment, fill } = this.o;
      augmentRows(this.o.src, this.o.table ?? null, rows, n, s.c, s.h, s.w, augment.pad, fill, draws.dx, draws.dy, draws.flip, start, out);
      return Promise.resolve(out);
    }
    const id = this.nextId++;
    const done = new Promise<Float32Array>((resolve, reject) =>
      this.waiting.set(id, {
        resolve: () => {
          const view = this.plain[slot].subarray(0, n * this.f);
          view.set(out);
          resolve(view);
        },
        reject,
      }),
    );
    const slice = (a: Uint8Array) => a.slice(start, start + n);
    this.worker.postMessage({ id, slot, rows, count: n, dx: slice(draws.dx), dy: slice(draws.dy), flip: slice(draws.flip) });
    return done;
  }

  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
    this.fail(new Error('augmentation pipeline disposed'));
  }
}
