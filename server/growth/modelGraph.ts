/**
 * Engine graphs over a model's weights for scoring candidates: the forward pass and loss with any
 * weight replaced by an expression of extra inputs (ε, δ, θ …), so that a method can ask the engine for
 * the loss and its gradients with respect to those inputs. One math path: everything runs as ONNX.
 */
import { Executor, Graph, HostTensor, Value, meanSquaredError, softmaxCrossEntropy } from '../engine';
import type { GrowableModel } from '../model/growable';
import { buildForward } from '../model/forward';
import type { ModelSpec } from '../model/spec';

export class ModelGraph {
  readonly graph: Graph;
  readonly x: Value;
  readonly y: Value;
  private readonly weights = new Map<string, Value>();
  private readonly extras = new Map<string, Value>();

  /**
   * `override(name, base)` may return an expression to use instead of weight `name` (base is the
   * weight as a graph input, fed from the model).
   */
  constructor(
    readonly spec: ModelSpec,
    private readonly shapeOf: (name: string) => number[],
    private readonly override: (name: string, base: () => Value, g: ModelGraph) => Value | undefined = () => undefined,
  ) {
    this.graph = new Graph('candidates');
    this.x = this.graph.input('x', 'float32', ['N', ...spec.inputShape]);
    this.y = this.graph.input('y', 'float32', ['N', spec.output.units]);
  }

  static of(model: GrowableModel, override?: ConstructorParameters<typeof ModelGraph>[2]): ModelGraph {
    return new ModelGraph(model.spec, (n) => model.shapeOf(n), override);
  }

  /** The model's weight as a graph input. */
  base(name: string): Value {
    let v = this.weights.get(name);
    if (!v) {
      v = this.graph.input(name, 'float32', this.shapeOf(name));
      this.weights.set(name, v);
    }
    return v;
  }

  /** The weight as the forward pass sees it (overridden or not). */
  readonly w = (name: string): Value => this.override(name, () => this.base(name), this) ?? this.base(name);

  /** An extra input (candidate parameters), fed by name. */
  extra(name: string, shape: number[]): Value {
    let v = this.extras.get(name);
    if (!v) {
      v = this.graph.input(`extra:${name}`, 'float32', shape);
      this.extras.set(name, v);
    }
    return v;
  }

  /** Forward pass (batch norm with running statistics) and the task's loss. */
  forward(): { output: Value; loss: Value; layerOutputs: Value[]; blockHidden: Map<string, Value> } {
    const fwd = buildForward(this.spec, this.x, this.w, 'eval');
    const loss = this.spec.task === 'classification' ? softmaxCrossEntropy(fwd.output, this.y) : meanSquaredError(fwd.output, this.y);
    return { output: fwd.output, loss, layerOutputs: fwd.layerOutputs, blockHidden: fwd.blockHidden };
  }

  /** Feeds: the model's weights used by the graph, the batch, and the extras by name. */
  feeds(
    tensors: Map<string, Float32Array>,
    batch: { x: HostTensor; y: HostTensor },
    extras: Record<string, Float32Array>,
  ): Record<string, HostTensor> {
    const f: Record<string, HostTensor> = { x: batch.x, y: batch.y };
    for (const [name, v] of this.weights) {
      const t = tensors.get(name);
      if (!t) throw new Error(`no tensor ${name} to feed`);
      f[name] = { dtype: 'float32', shape: v.shape as number[], data: t };
    }
    for (const [name, v] of this.extras) {
      const t = extras[name];
      if (!t) throw new Error(`no value for candidate input ${name}`);
      f[`extra:${name}`] = { dtype: 'float32', shape: v.shape as number[], data: t };
    }
    return f;
  }
}

/** Compile, run once per feed set, and release: for graphs used a handful of times. */
export async function runOnce(
  executor: Executor,
  graph: Graph,
  outputs: Record<string, Value>,
  feedSets: Record<string, HostTensor>[],
): Promise<Record<string, Float32Array>[]> {
  const c = await executor.compile(graph, outputs);
  try {
    const results: Record<string, Float32Array>[] = [];
    for (const feeds of feedSets) {
      const r = await c.run(feeds);
      const o: Record<string, Float32Array> = {};
      for (const k of Object.keys(outputs)) o[k] = Float32Array.from(r[k].data as Float32Array);
      results.push(o);
    }
    return results;
  } finally {
    await c.dispose();
  }
}
