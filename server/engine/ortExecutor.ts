/** Executes graphs as ONNX models in onnxruntime-node: one InferenceSession per compiled graph. */
import * as os from 'os';
import { CompiledGraph, Executor } from './executor';
import { Graph, Value } from './graph';
import { onnx } from 'onnx-proto';
import { OPSET, encodeModel, toOnnxModel } from './onnx';
import { NCHWC_DOMAIN } from './onnxContext';
import { onnxDataType } from './ops';
import { DType, HostTensor } from './types';

type Ort = typeof import('onnxruntime-node');
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
}

export class OrtExecutor implements Executor {
  readonly engine = 'onnxruntime' as const;
  readonly warnings: string[] = [];
  private live = 0;
  private constructor(
    readonly provider: OrtProvider,
    private readonly threads: number,
    /** NCHWc block size the compiled graphs use (0: standard ONNX convolutions only). */
    readonly nchwcBlock = 0,
  ) {}

  /**
   * An executor on the requested provider; a provider that fails to load falls back to cpu with the
   * reason in `warnings` (never an error).
   */
  static async create(opts: OrtExecutorOptions = {}): Promise<OrtExecutor> {
    const threads = opts.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
    const wanted = opts.provider ?? 'cpu';
    const nchwc = async () => ((opts.nchwc ?? process.env.GROWTH_LAB_ORT_NCHWC !== '0') ? await probeNchwcBlock() : 0);
    if (wanted === 'cpu') return new OrtExecutor('cpu', threads, await nchwc());
    const probe = await probeProvider(wanted);
    if (probe.ok) return new OrtExecutor(wanted, threads);
    const ex = new OrtExecutor('cpu', threads, await nchwc());
    ex.warnings.push(`execution provider "${wanted}" could not be loaded (${probe.reason}); using cpu`);
    return ex;
  }

  liveSessions(): number {
    return this.live;
  }

  async compile(graph: Graph, outputs: Record<string, Value>): Promise<CompiledGraph> {
    const ort = loadOrt();
    const outputNames = Object.keys(outputs);
    const model = toOnnxModel(graph, Object.values(outputs), { outputNames, nchwcBlock: this.nchwcBlock });
    const session = await ort.InferenceSession.create(encodeModel(model), sessionOptions(this.provider, this.threads));
    this.live++;
    let disposed = false;
    const inputNames = new Set(session.inputNames);
    return {
      outputNames,
      run: async (feeds) => {
        if (disposed) throw new Error('run on a disposed graph');
        const ortFeeds: Record<string, InstanceType<Ort['Tensor']>> = {};
        for (const name of inputNames) {
          const t = feeds[name];
          if (!t) throw new Error(`missing feed "${name}"`);
          ortFeeds[name] = new ort.Tensor(ORT_TYPES[t.dtype], t.data as any, t.shape);
        }
        const result = await session.run(ortFeeds);
        const out: Record<string, HostTensor> = {};
        for (const name of outputNames) {
          const r = result[name];
          out[name] = { dtype: r.type as DType, shape: [...r.dims], data: r.data as HostTensor['data'] };
        }
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
