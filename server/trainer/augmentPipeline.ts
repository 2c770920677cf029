/**
 * Augmented training batches off the step's critical path. onnxruntime-node runs a session on the
 * JavaScript thread (its `run` is synchronous behind a setImmediate), so preparing batch k+1 "between
 * awaits" would still serialise with step k. Instead a worker thread builds it: when step k begins,
 * this thread sends batch k+1's row indices and draws, with the output buffer of the other slot
 * (transferred, not copied); the worker gathers, crops and flips while step k runs and hands the
 * buffer back. Two slots: double buffering. The worker reads the rows from the split in shared memory:
 * the split itself when it is in a SharedArrayBuffer (augmentSetup.ts puts the normalised copy there),
 * else one copy made when the pipeline starts (gathering each batch here instead measured slower than
 * not using a worker at all: scripts/benchAugment.ts). Both threads run the same `augmentRows` on the
 * same draws, so the batches are bit-identical to building them here (`inline`: the fallback, and the
 * reference the tests compare with). Outputs are plain buffers: onnxruntime-node refuses views of
 * shared memory.
 */
import { Worker } from 'node:worker_threads';
import { augmentRows, type EpochDraws, type ImageAugment, type ImageShape } from './augment';

/** The worker: `augmentRows` by its own source, and a message loop. Kept as text: no file to locate in the bundle. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const augmentRows = ${augmentRows.toString()};
const { src, table, shape, pad, fill } = workerData;
parentPort.on('message', (m) => {
  try {
    augmentRows(src, table, m.rows, m.count, shape.c, shape.h, shape.w, pad, fill, m.dx, m.dy, m.flip, 0, m.output);
    parentPort.postMessage({ id: m.id, output: m.output }, [m.output.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, output: m.output, error: String((e && e.message) || e) }, [m.output.buffer]);
  }
});
`;

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

/** A source the worker can read: the same array when it is in shared memory, else a copy there. */
function shared<T extends Float32Array | Uint8Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = (
    a instanceof Uint8Array ? new Uint8Array(new SharedArrayBuffer(a.length)) : new Float32Array(new SharedArrayBuffer(a.length * 4))
  ) as T;
  out.set(a);
  return out;
}

export class AugmentPipeline {
  /** Each slot's output buffer; length 0 while the worker has it. */
  private readonly outputs: Float32Array[];
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { slot: 0 | 1; n: number; resolve: (x: Float32Array) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failed: Error | undefined;
  private readonly f: number;
  /** Whether batches are built by a worker thread (false: inline, on this thread). */
  readonly threaded: boolean;
  /** Whether the worker needed a copy of the source in shared memory (it was not there). */
  readonly copiedSource: boolean;

  constructor(private readonly o: AugmentPipelineOptions) {
    this.f = o.shape.c * o.shape.h * o.shape.w;
    this.outputs = [new Float32Array(o.maxBatch * this.f), new Float32Array(o.maxBatch * this.f)];
    this.threaded = !o.inline;
    this.copiedSource = this.threaded && !(o.src.buffer instanceof SharedArrayBuffer);
    if (this.threaded) {
      this.worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { src: shared(o.src), table: o.table ?? null, shape: o.shape, pad: o.augment.pad, fill: o.fill },
      });
      this.worker.unref();
      this.worker.on('message', (m: { id: number; output: Float32Array; error?: string }) => {
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        this.outputs[w.slot] = m.output;
        if (m.error) w.reject(new Error(`augmentation worker: ${m.error}`));
        else w.resolve(m.output.subarray(0, w.n * this.f));
      });
      this.worker.on('error', (e) => this.fail(e));
      this.worker.on('exit', (code) => this.fail(new Error(`augmentation worker exited (code ${code})`)));
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /**
   * Starts building rows order[start..start+n) with draws[start..] in slot 0 or 1; resolves with a
   * view of the slot's output, valid until the slot is asked for again (so ask for slot s only after
   * the step that used its previous batch is done).
   */
  batch(order: ArrayLike<number>, start: number, n: number, draws: EpochDraws, slot: 0 | 1): Promise<Float32Array> {
    if (this.failed) return Promise.reject(this.failed);
    const output = this.outputs[slot];
    if (!this.worker) {
      const { shape: sh, augment, fill } = this.o;
      const rows = Int32Array.from({ length: n }, (_, i) => order[start + i]);
      const out = output.subarray(0, n * this.f);
      augmentRows(
        this.o.src,
        this.o.table ?? null,
        rows,
        n,
        sh.c,
        sh.h,
        sh.w,
        augment.pad,
        fill,
        draws.dx,
        draws.dy,
        draws.flip,
        start,
        out,
      );
      return Promise.resolve(out);
    }
    if (output.length === 0) return Promise.reject(new Error(`augmentation slot ${slot} is still with the worker`));
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = order[start + i];
    const id = this.nextId++;
    const done = new Promise<Float32Array>((resolve, reject) => this.waiting.set(id, { slot, n, resolve, reject }));
    const slice = (a: Uint8Array) => a.slice(start, start + n);
    this.worker.postMessage({ id, rows, count: n, dx: slice(draws.dx), dy: slice(draws.dy), flip: slice(draws.flip), output }, [
      output.buffer as ArrayBuffer,
    ]);
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
