/**
 * Interprets a graph op by op with tfjs: the independent oracle in tests, and a real engine where a
 * user has @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (optional, loaded at run time),
 * falling back to @tensorflow/tfjs with the wasm backend, then its cpu backend.
 */
import * as path from 'path';
import { CompiledGraph, Executor } from './executor';
import { Graph, Value } from './graph';
import { getOp, Tf, TfTensor } from './registry';
import { DType, HostTensor } from './types';

export interface TfjsRuntime {
  tf: Tf;
  /** Which package/backend: tensorflow-gpu, tensorflow, wasm, cpu. */
  backend: string;
  warnings: string[];
}

let runtime: Promise<TfjsRuntime> | undefined;
const nativeDirs: string[] = [];

/** A folder holding node_modules/@tensorflow/tfjs-node(-gpu) installed by the extension ("Install GPU backend"). */
export function addNativeTfjsDir(dir: string): void {
  if (!nativeDirs.includes(dir)) nativeDirs.push(dir);
}

/** require() a package from the backend's own modules, else from the installed native folders. */
function requireNative(pkg: string): unknown {
  try {
    return require(pkg);
  } catch (first) {
    for (const dir of nativeDirs) {
      try {
        return require(require.resolve(pkg, { paths: [dir] }));
      } catch {
        /* try the next folder */
      }
    }
    throw first;
  }
}

/** Loads the best tfjs available (cached per process). `prefer` limits the choice (tests use 'cpu'). */
export function loadTfjs(prefer?: 'wasm' | 'cpu'): Promise<TfjsRuntime> {
  if (!runtime) runtime = pickTfjs(prefer);
  return runtime;
}

async function pickTfjs(prefer?: 'wasm' | 'cpu'): Promise<TfjsRuntime> {
  const warnings: string[] = [];
  if (!prefer) {
    for (const [pkg, backend] of [
      ['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'],
      ['@tensorflow/tfjs-node', 'tensorflow'],
    ] as const) {
      try {
        const tf = requireNative(pkg) as Tf;
        await tf.ready();
        return { tf, backend, warnings };
      } catch (e) {
        warnings.push(`${pkg} not loadable: ${((e as Error).message || '').split('\n')[0]}`);
      }
    }
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  if (prefer !== 'cpu') {
    try {
      const wasm = require('@tensorflow/tfjs-backend-wasm');
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return { tf, backend: 'wasm', warnings };
      }
    } catch (e) {
      warnings.push(`tfjs wasm backend not loadable: ${((e as Error).message || '').split('\n')[0]}`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend: 'cpu', warnings };
}

function toTf(tf: Tf, t: HostTensor): TfTensor {
  switch (t.dtype) {
    case 'float32':
    case 'float64':
      return tf.tensor(Float32Array.from(t.data as Float32Array), t.shape, 'float32');
    case 'int64':
      return tf.tensor(
        Int32Array.from(t.data as BigInt64Array, (v) => Number(v)),
        t.shape,
        'int32',
      );
    case 'bool':
      return tf.tensor(Uint8Array.from(t.data as Uint8Array), t.shape, 'bool');
  }
}

export function fromTf(t: TfTensor, dtype: DType): HostTensor {
  const v = t.dataSync();
  const shape = [...t.shape];
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: Float32Array.from(v as Float32Array) };
    case 'float64':
      return { dtype, shape, data: Float64Array.from(v as Float32Array) };
    case 'int64':
      return { dtype, shape, data: BigInt64Array.from(v as Int32Array, (x) => BigInt(x)) };
    case 'bool':
      return { dtype, shape, data: Uint8Array.from(v as Uint8Array) };
  }
}

/**
 * Evaluate `outputs` with tfjs ops from tfjs tensors for (some of) the graph's inputs; usable inside
 * tf.grads so that tests can compare with tfjs's own gradients.
 */
export function interpret(tf: Tf, graph: Graph, outputs: Value[], feeds: Map<number, TfTensor>): TfTensor[] {
  const env = new Map<number, TfTensor>(feeds);
  for (const [v, t] of graph.constants) env.set(v.id, toTf(tf, t));
  for (const node of graph.nodesFor(outputs)) {
    const ins = node.inputs.map((v) => {
      const t = env.get(v.id);
      if (!t) throw new Error(`tfjs: no value for ${v.name}`);
      return t;
    });
    const outs = getOp(node.op).tfjs(tf, ins, node.attrs, node);
    node.outputs.forEach((o, i) => env.set(o.id, outs[i]));
  }
  return outputs.map((v) => env.get(v.id)!);
}

export class TfjsExecutor implements Executor {
  readonly engine = 'tfjs' as const;
  /** None: every op runs as its tfjs interpretation. */
  readonly hostKernels: ReadonlySet<string> = new Set();
  /** No NCHWc convolutions (onnxruntime's). */
  readonly nchwcBlock = 0;
  private live = 0;
  private constructor(private readonly rt: TfjsRuntime) {}

  static async create(prefer?: 'wasm' | 'cpu'): Promise<TfjsExecutor> {
    return new TfjsExecutor(await loadTfjs(prefer));
  }

  get provider(): string {
    return this.rt.backend;
  }
  get warnings(): string[] {
    return this.rt.warnings;
  }
  get tf(): Tf {
    return this.rt.tf;
  }

  liveSessions(): number {
    return this.live;
  }

  async compile(graph: Graph, outputs: Record<string, Value>): Promise<CompiledGraph> {
    const tf = this.rt.tf;
    const outputNames = Object.keys(outputs);
    const outValues = Object.values(outputs);
    this.live++;
    let disposed = false;
    return {
      outputNames,
      run: async (feeds) => {
        if (disposed) throw new Error('run on a disposed graph');
        // tidy keeps only the result tensors; they are read back outside it (tidy walks every
        // element of a returned typed array, which costs ~100 ms per million values).
        const results = tf.tidy(() => {
          const env = new Map<number, TfTensor>();
          for (const v of graph.inputs) {
            const t = feeds[v.name];
            if (t) env.set(v.id, toTf(tf, t));
          }
          return interpret(tf, graph, outValues, env);
        });
        try {
          const out: Record<string, HostTensor> = {};
          outputNames.forEach((name, i) => (out[name] = fromTf(results[i], outValues[i].dtype)));
          return out;
        } finally {
          tf.dispose(results);
        }
      },
      dispose: async () => {
        if (!disposed) {
          disposed = true;
          this.live--;
        }
      },
    };
  }
}
