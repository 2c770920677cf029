import { Attrs, getOp } from './registry';
import { DType, HostTensor, Shape, shapeToString } from './types';

/** A tensor-valued edge of the graph: a graph input, a constant, or a node output. */
export class Value {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly producer: Node | undefined,
    readonly outputIndex: number,
    public name: string,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${shapeToString(this.shape)}`;
  }
}

export interface Node {
  id: number;
  op: string;
  inputs: Value[];
  attrs: Attrs;
  outputs: Value[];
}

/**
 * What the executor that will run a graph offers beyond standard ONNX, which gradient rules may choose
 * (an Executor is one).
 */
export interface GraphTarget {
  /** Ops it computes with kernels of its own outside its compiled sessions (Executor.hostKernels). */
  readonly hostKernels: ReadonlySet<string>;
  /** onnxruntime's NCHWc channel block its convolutions run on (Executor.nchwcBlock); 0: none. */
  readonly nchwcBlock: number;
}

/**
 * A typed dataflow graph with static shapes (the batch dimension symbolic). Nodes are kept in
 * creation order, which is a topological order.
 */
export class Graph {
  readonly inputs: Value[] = [];
  readonly nodes: Node[] = [];
  readonly constants = new Map<Value, HostTensor>();
  private nextId = 0;
  private readonly names = new Set<string>();

  /** Ops the gradient rules may leave to the executor's host kernels (GraphTarget.hostKernels). */
  readonly hostKernels: ReadonlySet<string>;
  /** The NCHWc block the executor's convolutions run on (GraphTarget.nchwcBlock); 0: none. */
  readonly nchwcBlock: number;

  /**
   * @param target the executor that will run this graph, or what it offers (GraphTarget); gradient
   * rules may choose forms for it. None: every rule picks its standard forms.
   */
  constructor(
    readonly name = 'graph',
    target: Partial<GraphTarget> = {},
  ) {
    this.hostKernels = target.hostKernels ?? new Set();
    this.nchwcBlock = target.nchwcBlock ?? 0;
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: input name "${name}" is used twice`);
    this.names.add(name);
    const v = new Value(this, this.nextId++, dtype, [...shape], undefined, 0, name);
    this.inputs.push(v);
    return v;
  }

  constant(t: HostTensor): Value {
    const v = new Value(this, this.nextId++, t.dtype, [...t.shape], undefined, 0, `const_${this.nextId}`);
    this.constants.set(v, t);
    return v;
  }

  apply(op: string, inputs: Value[], attrs: Attrs = {}): Value[] {
    const def = getOp(op);
    for (const v of inputs) {
      if (v.graph !== this) throw new Error(`${op}: input ${v.name} belongs to another graph`);
    }
    let types;
    try {
      types = def.infer(inputs, attrs);
    } catch (e) {
      const desc = inputs.map((v) => `${v.dtype}${shapeToString(v.shape)}`).join(', ');
      throw new Error(`${op}(${desc}): ${(e as Error).message}`);
    }
    const node: Node = { id: this.nextId++, op, inputs, attrs, outputs: [] };
    node.outputs = types.map((t, i) => new Value(this, this.nextId++, t.dtype, t.shape, node, i, `${op.toLowerCase()}_${node.id}_${i}`));
    this.nodes.push(node);
    return node.outputs;
  }

  apply1(op: string, inputs: Value[], attrs: Attrs = {}): Value {
    return this.apply(op, inputs, attrs)[0];
  }

  /** Nodes needed to compute `outputs`, in topological order; values in `given` count as known (not computed). */
  nodesFor(outputs: Value[], given?: ReadonlySet<Value>): Node[] {
    const needed = new Set<number>();
    const known = (v: Value) => !v.producer || given?.has(v);
    const stack = outputs.filter((v) => !known(v)).map((v) => v.producer!);
    while (stack.length) {
      const n = stack.pop()!;
      if (needed.has(n.id)) continue;
      needed.add(n.id);
      for (const v of n.inputs) if (!known(v) && !needed.has(v.producer!.id)) stack.push(v.producer!);
    }
    return this.nodes.filter((n) => needed.has(n.id));
  }
}
