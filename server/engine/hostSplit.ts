/**
 * A graph split around the nodes an executor runs on host kernels (Executor.hostKernels): session A
 * computes everything that does not depend on a host node's output (the requested outputs it can, the
 * host nodes' inputs, the values session B reads), the host kernels run, and session B computes the
 * rest from the graph inputs, A's values and the host outputs. A training step with the native
 * ConvWeightGradient is forward and backward in A, the kernels' dW, the optimiser's update of those
 * weights in B. One level of host nodes: a host node that reads another's output is refused.
 */
import type { Graph, Node, Value } from './graph';

export interface HostSplit {
  /** The host nodes, in topological order. */
  hostNodes: Node[];
  /** Requested outputs session A computes, by output name. */
  first: Record<string, Value>;
  /** Values A returns for the host nodes and for B (node outputs, never graph inputs or constants). */
  handed: Value[];
  /** Requested outputs session B computes, by output name (none: there is no session B). */
  second: Record<string, Value>;
  /** Requested outputs that are host nodes' outputs themselves, by output name. */
  direct: Record<string, Value>;
  /** What B reads besides graph inputs and constants: host outputs and values handed from A. */
  secondGiven: Value[];
}

/** The split of the nodes computing `outputs` at the nodes `isHost` picks; undefined when it picks none. */
export function splitAtHostNodes(graph: Graph, outputs: Record<string, Value>, isHost: (n: Node) => boolean): HostSplit | undefined {
  const nodes = graph.nodesFor(Object.values(outputs));
  const hostNodes = nodes.filter(isHost);
  if (!hostNodes.length) return undefined;
  const late = new Set<Value>(); // values that depend on a host node's output
  const secondNodes: Node[] = [];
  for (const n of nodes) {
    const readsLate = n.inputs.some((v) => late.has(v));
    if (isHost(n)) {
      if (readsLate) throw new Error(`${n.op} (node ${n.id}) reads another host kernel's output; host nodes must not depend on each other`);
      n.outputs.forEach((v) => late.add(v));
    } else if (readsLate) {
      secondNodes.push(n);
      n.outputs.forEach((v) => late.add(v));
    }
  }
  const handed = new Set<Value>();
  const secondGiven = new Set<Value>();
  for (const n of hostNodes) for (const v of n.inputs) if (v.producer) handed.add(v);
  for (const n of secondNodes) {
    for (const v of n.inputs) {
      if (!v.producer) continue;
      if (!late.has(v)) {
        handed.add(v);
        secondGiven.add(v);
      } else if (isHost(v.producer)) secondGiven.add(v);
    }
  }
  const split: HostSplit = { hostNodes, first: {}, handed: [...handed], second: {}, direct: {}, secondGiven: [...secondGiven] };
  for (const [name, v] of Object.entries(outputs)) {
    if (!late.has(v)) split.first[name] = v;
    else if (isHost(v.producer!)) split.direct[name] = v;
    else split.second[name] = v;
  }
  return split;
}
