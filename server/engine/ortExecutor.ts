/** Executes graphs as ONNX models in onnxruntime-node: one InferenceSession per compiled graph. */
import * as os from 'os';
import { CompiledGraph, Executor } from './executor';
import { Graph, Node, Value } from './graph';
import { HostSplit, splitAtHostNodes } from './hostSplit';
import { NativeKernels, loadNativeKernels } from './nativeKernels';
import { onnx } from 'onnx-proto';
import { OPSET, encodeModel, toOnnxModel } from './onnx';
import { NCHWC_DOMAIN } from './onnxContext';
import { onnxDataType } from './ops';
import { DType, HostTensor } from './types';

type Ort = typeof import('onnxruntime-node');
type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
let ortModule: Ort | undefined;
export function loadOrt(): Ort {
  // Loaded on first use so that a broken native install is reported, not a crash at import.
  if (!ortModule) ortModule = require('onnxruntime-node') as Ort;
  return ortModule;
}

const ORT_TYPES: Record<DType, 'float32' | 'float64' | 'int64' | 'bool'> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  bool: 'bool',
};

/** onnxruntime execution providers the engine knows how to ask for. */
export type OrtProvider = 'cpu' | 'webgpu' | 'cuda' | 'dml' | 'coreml';

export interface OrtExecutorOptions {
  provider?: OrtProvider;
  threads?: number;
  /**
   * Convolutions on onnxruntime's NCHWc CPU kernels where the CPU has them and the channels fit
   * (default on for the cpu provider; GROWTH_LAB_ORT_NCHWC=0 turns it off, for comparisons).
   */
  nchwc?: boolean;
  /**
   * Host kernels of the native addon (server/engine/native) between sessions where it loads (default
   * on for the cpu provider; GROWTH_LAB_NATIVE=0 turns it off, for comparisons).
   */
  native?: boolean;
}

/** A host kernel: a node's outputs from its inputs' values, outside onnxruntime. */
type HostKernel = (node: Node, inputs: HostTensor[]) => HostTensor[];

export class OrtExecutor implements Executor {
  readonly engine = 'onnxruntime' as const;
  readonly warnings: string[] = [];
  private live = 0;
  readonly hostKernels: ReadonlySet<string>;
  private readonly kernels = new Map<string, HostKernel>();
  private constructor(
    readonly provider: OrtProvider,
    private readonly threads: number,
    /** NCHWc block size the compiled graphs use (0: standard ONNX convolutions only). */
    readonly nchwcBlock = 0,
    /** The native addon's kernels, where it loaded (else the reason it did not, in `nativeStatus`). */
    native?: NativeKernels,
    /** What runs ConvWeightGradient: the addon and its instruction set, or why onnxruntime does. */
    readonly nativeStatus = 'off',
  ) {
    if (native) this.kernels.set('ConvWeightGradient', convWeightGradientKernel(native, threads));
    this.hostKernels = new Set(this.kernels.keys());
  }

  /**
   * An executor on the requested provider; a provider that fails to load falls back to cpu with the
   * reason in `warnings` (never an error).
   */
  static async create(opts: OrtExecutorOptions = {}): Promise<OrtExecutor> {
    const threads = opts.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
    const wanted = opts.provider ?? 'cpu';
    const nchwc = async () => ((opts.nchwc ?? process.env.GROWTH_LAB_ORT_NCHWC !== '0') ? await probeNchwcBlock() : 0);
    const cpu = async () => {
      const block = await nchwc();
      if (opts.native === false) return new OrtExecutor('cpu', threads, block, undefined, 'off (option)');
      const loaded = loadNativeKernels();
      if (!loaded.kernels) return new OrtExecutor('cpu', threads, block, undefined, loaded.reason);
      return new OrtExecutor('cpu', threads, block, loaded.kernels, `native (${loaded.kernels.isa})`);
    };
    if (wanted === 'cpu') return cpu();
    const probe = await probeProvider(wanted);
    if (probe.ok) return new OrtExecutor(wanted, threads, 0, undefined, `off (the ${wanted} provider keeps tensors on its device)`);
    const ex = await cpu();
    ex.warnings.push(`execution provider "${wanted}" could not be loaded (${probe.reason}); using cpu`);
    return ex;
  }

  liveSessions(): number {
    return this.live;
  }

  async compile(graph: Graph, outputs: Record<string, Value>): Promise<CompiledGraph> {
    const split = this.kernels.size ? splitAtHostNodes(graph, outputs, (n) => this.kernelFor(n) !== undefined) : undefined;
    if (split) return this.compileSplit(graph, outputs, split);
    const outputNames = Object.keys(outputs);
    const session = await this.session(toOnnxModel(graph, Object.values(outputs), { outputNames, nchwcBlock: this.nchwcBlock }));
    this.live++;
    let disposed = false;
    return {
      outputNames,
      run: async (feeds) => {
        if (disposed) throw new Error('run on a disposed graph');
        const result = await session.run(ortFeeds(session, (name) => feeds[name]));
        const out: Record<string, HostTensor> = {};
        for (const name of outputNames) out[name] = fromOrt(result[name]);
        return out;
      },
      dispose: async () => {
        if (disposed) return;
        disposed = true;
        this.live--;
        await session.release();
      },
    };
  }

  /** The host kernel that runs `node` (float32 inputs only), if any. */
  private kernelFor(node: Node): HostKernel | undefined {
    return node.inputs.every((v) => v.dtype === 'float32') ? this.kernels.get(node.op) : undefined;
  }

  /**
   * `quiet`: the session's threads sleep when it has no work instead of spinning, for a session that
   * host kernels follow (beside the spinning threads the kernel took 1.5-2x longer, docs/engine.md).
   */
  private async session(model: ReturnType<typeof toOnnxModel>, quiet = false): Promise<Session> {
    const options = sessionOptions(this.provider, this.threads);
    return loadOrt().InferenceSession.create(
      encodeModel(model),
      quiet ? { ...options, extra: { session: { intra_op: { allow_spinning: '0' } } } } : options,
    );
  }

  /**
   * A graph with host nodes (hostSplit.ts): session A, the host kernels, session B, one after another
   * per run; runs of one compiled graph are queued, never overlapped. What A hands over (each such
   * convolution's input and cotangent) is copied by onnxruntime-node's binding into JavaScript buffers:
   * about 45 ms of a ResNet-20 step (docs/engine.md). Buffers of our own passed as outputs were measured
   * no faster (the binding still copies), so there are none.
   */
  private async compileSplit(graph: Graph, outputs: Record<string, Value>, split: HostSplit): Promise<CompiledGraph> {
    const handedName = (k: number) => `__handed_${k}`;
    const first: Record<string, Value> = { ...split.first };
    split.handed.forEach((v, k) => (first[handedName(k)] = v));
    const firstNames = Object.keys(first);
    const given = new Map(split.secondGiven.map((v, k) => [v, `__given_${k}`]));
    const secondNames = Object.keys(split.second);
    // Either session may have nothing to compute (a host node reading graph inputs only; nothing after it).
    let a: Session | undefined, b: Session | undefined;
    try {
      if (firstNames.length)
        a = await this.session(toOnnxModel(graph, Object.values(first), { outputNames: firstNames, nchwcBlock: this.nchwcBlock }), true);
      if (secondNames.length) {
        b = await this.session(
          toOnnxModel(graph, Object.values(split.second), { outputNames: secondNames, nchwcBlock: this.nchwcBlock, given }),
        );
      }
    } catch (e) {
      await a?.release();
      throw e;
    }
    this.live++;
    let disposed = false;
    let queue: Promise<unknown> = Promise.resolve();
    const byName = new Map([...given].map(([v, name]) => [name, v]));

    const runOnce = async (feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> => {
      if (disposed) throw new Error('run on a disposed graph');
      const ra = a ? await a.run(ortFeeds(a, (name) => feeds[name])) : {};
      const values = new Map<Value, HostTensor>();
      split.handed.forEach((v, k) => values.set(v, fromOrt(ra[handedName(k)])));
      const valueOf = (v: Value): HostTensor => {
        const t = values.get(v) ?? graph.constants.get(v) ?? (v.producer ? undefined : feeds[v.name]);
        if (!t) throw new Error(`missing feed "${v.name}"`);
        return t;
      };
      for (const n of split.hostNodes) {
        const outs = this.kernelFor(n)!(n, n.inputs.map(valueOf));
        n.outputs.forEach((v, i) => values.set(v, outs[i]));
      }
      const out: Record<string, HostTensor> = {};
      for (const name of Object.keys(split.first)) out[name] = fromOrt(ra[name]);
      for (const [name, v] of Object.entries(split.direct)) out[name] = values.get(v)!;
      if (b) {
        const rb = await b.run(ortFeeds(b, (name) => (byName.has(name) ? values.get(byName.get(name)!) : feeds[name])));
        for (const name of secondNames) out[name] = fromOrt(rb[name]);
      }
      return Object.fromEntries(Object.keys(outputs).map((name) => [name, out[name]]));
    };

    return {
      outputNames: Object.keys(outputs),
      run: (feeds) => {
        const result = queue.then(() => runOnce(feeds));
        queue = result.catch(() => undefined);
        return result;
      },
      dispose: async () => {
        if (disposed) return;
        disposed = true;
        this.live--;
        await queue;
        await Promise.all([a?.release(), b?.release()]);
      },
    };
  }
}

/** onnxruntime tensors for a session's inputs, each from `feed` (an error names a missing one). */
function ortFeeds(session: { inputNames: readonly string[] }, feed: (name: string) => HostTensor | undefined) {
  const ort = loadOrt();
  const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
  for (const name of session.inputNames) {
    const t = feed(name);
    if (!t) throw new Error(`missing feed "${name}"`);
    feeds[name] = new ort.Tensor(ORT_TYPES[t.dtype], t.data as any, t.shape);
  }
  return feeds;
}

function fromOrt(r: InstanceType<Ort['Tensor']>): HostTensor {
  return { dtype: r.type as DType, shape: [...r.dims], data: r.data as HostTensor['data'] };
}

/** ConvWeightGradient on the addon's kernel (attributes as nn.ts declares them). */
function convWeightGradientKernel(native: NativeKernels, threads: number): HostKernel {
  return (node, [x, g]) => {
    const { kernel, pads } = node.attrs as { kernel: number[]; pads: number[] };
    const [n, c, h, w] = x.shape;
    const o = g.shape[1];
    const d = { n, c, h, w, o, kh: kernel[0], kw: kernel[1], padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3] };
    const data = native.convWeightGradient(x.data as Float32Array, g.data as Float32Array, d, threads);
    return [{ dtype: 'float32', shape: [o, c, kernel[0], kernel[1]], data }];
  };
}

let optimizedCount = 0;
/** The engine's onnxruntime session options (benchmarks that build sessions of their own use them too). */
export function sessionOptions(provider: OrtProvider, threads: number) {
  return {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential' as const,
    graphOptimizationLevel: 'all' as const,
    // The memory pattern pre-plans one block for all of a run's intermediates; off, peak RSS on the
    // CIFAR conv-net steps falls by about 45 % at the same speed (issue 24's measurements; docs/engine.md).
    enableMemPattern: false,
    // GROWTH_LAB_ORT_PROFILE=<path prefix>: onnxruntime's profiler, one JSON trace per session (docs/engine.md)
    ...(process.env.GROWTH_LAB_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.GROWTH_LAB_ORT_PROFILE } : {}),
    // GROWTH_LAB_ORT_OPTIMIZED=<path prefix>: onnxruntime's optimised graph, one <prefix>-<k>.onnx per session
    ...(process.env.GROWTH_LAB_ORT_OPTIMIZED
      ? { optimizedModelFilePath: `${process.env.GROWTH_LAB_ORT_OPTIMIZED}-${++optimizedCount}.onnx` }
      : {}),
  };
}

const probes = new Map<string, Promise<{ ok: boolean; reason?: string }>>();
/** Whether onnxruntime can create a session on a provider on this machine (cached). */
export function probeProvider(provider: OrtProvider): Promise<{ ok: boolean; reason?: string }> {
  let p = probes.get(provider);
  if (!p) {
    p = (async () => {
      try {
        const ort = loadOrt();
        const supported = ort.listSupportedBackends().map((b) => b.name);
        if (!supported.includes(provider)) {
          return { ok: false, reason: `not in this onnxruntime-node build (supported: ${supported.join(', ')})` };
        }
        const { Graph } = await import('./graph');
        const { relu } = await import('./ops');
        const g = new Graph('probe');
        const x = g.input('x', 'float32', [2]);
        const model = toOnnxModel(g, [relu(x)], { outputNames: ['y'] });
        // Probing is expected to fail on most machines: keep onnxruntime's own log quiet.
        const s = await ort.InferenceSession.create(encodeModel(model), { executionProviders: [provider], logSeverityLevel: 4 });
        await s.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 1), [2]) });
        await s.release();
        return { ok: true };
      } catch (e) {
        return { ok: false, reason: ((e as Error).message || String(e)).split('\n')[0] };
      }
    })();
    probes.set(provider, p);
  }
  return p;
}

let nchwcProbe: Promise<number> | undefined;
/**
 * The channel block of onnxruntime's NCHWc CPU kernels on this machine (8 with AVX2, 16 with AVX-512),
 * read off ReorderInput's output for 4 channels (padded up to one block); 0 where this build or CPU has
 * none (the contrib domain is then unknown to it and the model fails to load). Cached.
 */
export function probeNchwcBlock(): Promise<number> {
  nchwcProbe ??= (async () => {
    try {
      const ort = loadOrt();
      const model = onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [
          { domain: '', version: OPSET },
          { domain: NCHWC_DOMAIN, version: 1 },
        ],
        graph: {
          name: 'nchwc-probe',
          node: [{ opType: 'ReorderInput', domain: NCHWC_DOMAIN, input: ['x'], output: ['y'], name: 'reorder' }],
          input: [
            {
              name: 'x',
              type: { tensorType: { elemType: onnxDataType('float32'), shape: { dim: [1, 4, 1, 1].map((dimValue) => ({ dimValue })) } } },
            },
          ],
          output: [{ name: 'y', type: { tensorType: { elemType: onnxDataType('float32') } } }],
        },
      });
      const s = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['cpu'], logSeverityLevel: 4 });
      const { y } = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [1, 4, 1, 1]) });
      await s.release();
      const block = y.dims[1];
      return block > 4 && (block & (block - 1)) === 0 ? block : 0;
    } catch {
      return 0;
    }
  })();
  return nchwcProbe;
}
