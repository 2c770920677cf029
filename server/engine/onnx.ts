/** Emission of a graph to an ONNX ModelProto (opset 17) with onnx-proto. */
import { onnx } from 'onnx-proto';
import { Graph, Value } from './graph';
import { getOp } from './registry';
import { OnnxAttr, OnnxNodeContext } from './onnxContext';
import { DType, HostTensor, hostTensor } from './types';
import { onnxDataType } from './ops';

export const OPSET = 17;

function tensorProto(name: string, t: HostTensor): onnx.ITensorProto {
  const d = t.data;
  return {
    name,
    dims: t.shape,
    dataType: onnxDataType(t.dtype),
    rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}

function valueInfo(v: Value, name: string): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxDataType(v.dtype),
        shape: { dim: v.shape.map((d) => (d === 'N' ? { dimParam: 'N' } : { dimValue: d })) },
      },
    },
  };
}

function attribute(name: string, a: OnnxAttr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  if ('floats' in a) return { name, type: T.FLOATS, floats: a.floats };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
}

export interface EmitOptions {
  /** Names for the graph outputs, in order. */
  outputNames: string[];
  /** Graph inputs that are fixed for this model (written as initializers), e.g. exported weights. */
  initializers?: Map<Value, HostTensor>;
  docString?: string;
  /** onnxruntime's NCHWc block size, to emit its blocked convolutions (OnnxNodeContext.nchwcBlock); 0 or absent: none. */
  nchwcBlock?: number;
  /** A file for others to read (OnnxNodeContext.portable): standard one-node forms only. */
  portable?: boolean;
  /**
   * Values computed elsewhere and fed to this model as inputs under these names (the second session
   * of a step split around host kernels): what they depend on is not emitted.
   */
  given?: Map<Value, string>;
}

/** Build the ONNX model computing `outputs` from the graph's inputs. */
export function toOnnxModel(graph: Graph, outputs: Value[], opts: EmitOptions): onnx.ModelProto {
  const names = new Map<number, string>();
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const used = new Set<string>();
  const domains = new Set<string>();
  let counter = 0;
  const fresh = (hint: string) => {
    let n: string;
    do n = `${hint}_${counter++}`;
    while (used.has(n));
    used.add(n);
    return n;
  };
  const nameOf = (v: Value): string => {
    let n = names.get(v.id);
    if (n === undefined) {
      n = fresh(v.name);
      names.set(v.id, n);
    }
    return n;
  };

  const graphInputs: onnx.IValueInfoProto[] = [];
  for (const v of graph.inputs) {
    names.set(v.id, v.name);
    used.add(v.name);
    const fixed = opts.initializers?.get(v);
    if (fixed) initializers.push(tensorProto(v.name, fixed));
  }
  const given = opts.given ?? new Map<Value, string>();
  for (const [v, name] of given) {
    if (used.has(name)) throw new Error(`given value name "${name}" is already taken`);
    names.set(v.id, name);
    used.add(name);
  }
  // Output names are fixed; an output that is also a graph input or repeated gets an Identity.
  const outputAliases: [Value, string][] = [];
  outputs.forEach((v, i) => {
    const name = opts.outputNames[i];
    if (used.has(name)) throw new Error(`output name "${name}" is already taken`);
    used.add(name); // reserved now, also for an Identity emitted last, so that no temp takes it
    if (!v.producer || names.has(v.id)) outputAliases.push([v, name]);
    else names.set(v.id, name);
  });

  const nodesNeeded = graph.nodesFor(outputs, new Set(given.keys()));
  const neededInputs = new Set<number>();
  for (const n of nodesNeeded) for (const v of n.inputs) neededInputs.add(v.id);
  for (const v of outputs) neededInputs.add(v.id);
  for (const v of graph.inputs) {
    if (!opts.initializers?.has(v) && neededInputs.has(v.id)) graphInputs.push(valueInfo(v, v.name));
  }
  for (const [v, name] of given) if (neededInputs.has(v.id)) graphInputs.push(valueInfo(v, name));
  for (const [v, t] of graph.constants) {
    if (neededInputs.has(v.id)) initializers.push(tensorProto(nameOf(v), t));
  }

  for (const node of nodesNeeded) {
    const ctx: OnnxNodeContext = {
      input: (i) => nameOf(node.inputs[i]),
      output: (i) => nameOf(node.outputs[i]),
      temp: (hint) => fresh(hint),
      int64s: (values) => {
        const n = fresh('shape');
        initializers.push(tensorProto(n, hostTensor('int64', [values.length], values)));
        return n;
      },
      scalar: (value: number, dtype: DType) => {
        const n = fresh('scalar');
        initializers.push(tensorProto(n, hostTensor(dtype, [], [value])));
        return n;
      },
      tensor: (t: HostTensor, hint = 'const') => {
        const n = fresh(hint);
        initializers.push(tensorProto(n, t));
        return n;
      },
      nchwcBlock: opts.nchwcBlock ?? 0,
      portable: opts.portable ?? false,
      emit: (opType, inputs, outputs, attrs = {}, domain) => {
        if (domain) domains.add(domain);
        nodes.push({
          opType,
          ...(domain ? { domain } : {}),
          input: inputs,
          output: outputs,
          name: fresh(opType),
          attribute: Object.entries(attrs).map(([k, a]) => attribute(k, a)),
        });
      },
    };
    getOp(node.op).onnx(ctx, node);
  }
  for (const [v, name] of outputAliases) {
    nodes.push({ opType: 'Identity', input: [nameOf(v)], output: [name], name: fresh('Identity') });
  }

  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'growth-lab',
    producerVersion: '0.1.0',
    docString: opts.docString ?? '',
    opsetImport: [{ domain: '', version: OPSET }, ...[...domains].map((domain) => ({ domain, version: 1 }))],
    graph: {
      name: graph.name,
      node: nodes,
      input: graphInputs,
      output: outputs.map((v, i) => valueInfo(v, opts.outputNames[i])),
      initializer: initializers,
    },
  });
}

export function encodeModel(model: onnx.ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
