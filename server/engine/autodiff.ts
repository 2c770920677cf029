/** Reverse-mode differentiation: appends vector-Jacobian nodes, one registered rule per op. */
import { Graph, Node, Value } from './graph';
import { getOp } from './registry';
import { hostTensor, isFloat, shapeToString } from './types';
import { add, expandAs } from './ops';

/**
 * Gradients of the scalar `loss` with respect to `wrt` (graph inputs or intermediate values).
 * `seed` is the output cotangent (default 1). A `wrt` value the loss does not depend on gets zeros.
 */
export function gradients(loss: Value, wrt: Value[], seed?: Value): Value[] {
  const g = loss.graph;
  if (!seed && loss.rank !== 0) throw new Error(`gradients: loss must be a scalar, got shape ${shapeToString(loss.shape)}`);
  if (!isFloat(loss.dtype)) throw new Error(`gradients: loss must be float, got ${loss.dtype}`);

  const nodes = g.nodesFor([loss]);
  // Values that depend on some wrt value: only those need cotangents.
  const wrtIds = new Set(wrt.map((v) => v.id));
  const active = new Set<number>(wrtIds);
  for (const n of nodes) {
    if (n.inputs.some((v) => active.has(v.id))) for (const o of n.outputs) active.add(o.id);
  }

  const cot = new Map<number, Value>();
  cot.set(loss.id, seed ?? g.constant(hostTensor(loss.dtype, [], [1])));
  const accumulate = (v: Value, c: Value) => {
    const prev = cot.get(v.id);
    cot.set(v.id, prev ? add(prev, c) : c);
  };

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.outputs.some((o) => active.has(o.id))) continue;
    const outCots = node.outputs.map((o) => cot.get(o.id));
    if (outCots.every((c) => c === undefined)) continue;
    const def = getOp(node.op);
    if (def.vjp === null) continue; // outputs carry no gradient (comparisons, shapes)
    if (!def.vjp) throw new Error(`no gradient rule for op ${node.op}`);
    const inCots = runRule(node, outCots, def.vjp);
    node.inputs.forEach((v, k) => {
      const c = inCots[k];
      if (c && active.has(v.id) && isFloat(v.dtype)) accumulate(v, c);
    });
  }

  return wrt.map((v) => cot.get(v.id) ?? zerosFor(g, v));
}

function runRule(node: Node, outCots: (Value | undefined)[], rule: NonNullable<ReturnType<typeof getOp>['vjp']>) {
  try {
    return rule(node, outCots);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(node.op) ? msg : `gradient of ${node.op}: ${msg}`);
  }
}

function zerosFor(g: Graph, v: Value): Value {
  // A symbolic shape: a zero scalar broadcast to v's run-time shape.
  if (v.shape.includes('N')) return expandAs(g.constant(hostTensor(v.dtype, [])), v);
  return g.constant(hostTensor(v.dtype, v.shape as number[]));
}
