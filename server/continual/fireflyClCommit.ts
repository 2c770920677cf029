/**
 * Writing a Firefly CL grow round's chosen candidates into the master network, per layer: new columns
 * (the unlocked copies' incoming weights θ_i + ε̂_i δ_i, the new neurons' incoming δ_j), their biases,
 * and their rows in the consumer (the next layer's kernel, or task t's head): an unlocked copy repeats
 * its parent's row, a new neuron gets ε̂_j δ_j^out in the task's own columns. The unlocked parent leaves
 * task t's mask; every committed neuron joins it, owned by t.
 */
import type { CandidateRef } from './fireflyClCandidates';
import { appendColumns, appendRows, column, row } from './fireflyClMatrix';
import type { ClNetwork } from './fireflyClNetwork';
import { Tensors, tensor, values } from './tensors';

/**
 * `committed`: the candidate network's outputs at the chosen ε̂ (`ucol{l}`, `fout{l}`); `deltas`: δ
 * after step one (`dfi{l}`, `dfo{l}` by name); `unlock`: each layer's unlockable neurons of the round.
 */
export function commitCandidates(
  net: ClNetwork,
  t: number,
  mask: Uint8Array[],
  nOld: number[],
  chosen: CandidateRef[],
  deltas: Tensors,
  committed: Record<string, Float32Array>,
  unlock: number[][],
): { unlocked: number; fresh: number } {
  let unlocked = 0;
  let fresh = 0;
  for (let l = 0; l < net.depth; l++) {
    const ly = net.layers[l];
    const here = chosen.filter((c) => c.l === l);
    if (!here.length) continue;
    const rowsIn = ly.W.shape[0];
    const cols: Float32Array[] = [];
    const biases: number[] = [];
    const outRows: Float32Array[] = []; // rows into the consumer (next layer's W or the head V)
    const consumer = l === net.depth - 1 ? net.heads[t].V : net.layers[l + 1].W;
    const consumerCols = consumer.shape[1];
    for (const c of here) {
      if (c.kind === 'unlock') {
        const i = unlock[l][c.k];
        const nu = unlock[l].length;
        const uc = committed[`ucol${l}`]; // [rows at scoring, nu]: θ_i + ε̂_i δ_i from the engine
        const col = column(ly.W, i);
        const rowsThen = uc.length / nu;
        for (let r = 0; r < rowsThen; r++) col[r] = uc[r * nu + c.k];
        // Rows added by this commit for copies of unlocked neurons below take the parent's entry
        // (in the candidate network the modified parent fed this column through that row).
        if (l > 0) {
          const below = net.layers[l - 1];
          for (let r = rowsThen; r < rowsIn; r++) {
            const p = below.parent[r];
            if (p >= 0 && below.owner[r] === t) col[r] = uc[p * nu + c.k];
          }
        }
        cols.push(col);
        biases.push(values(ly.b)[i]);
        outRows.push(row(consumer, i));
        mask[l][i] = 0;
        ly.owner.push(t);
        ly.parent.push(i);
        unlocked++;
      } else {
        const di = deltas[`dfi${l}`];
        const dv = values(di);
        const col = new Float32Array(rowsIn);
        for (let r = 0; r < di.shape[0]; r++) col[r] = dv[r * di.shape[1] + c.k];
        if (l > 0) {
          const below = net.layers[l - 1];
          for (let r = di.shape[0]; r < rowsIn; r++) {
            const p = below.parent[r];
            if (p >= 0 && below.owner[r] === t) col[r] = dv[p * di.shape[1] + c.k];
          }
        }
        cols.push(col);
        biases.push(0);
        const fo = committed[`fout${l}`]; // [consumer's task columns, m']: ε̂_j δ_j^out from the engine
        const mN = deltas[`dfo${l}`].shape[1];
        const rw = new Float32Array(consumerCols);
        const first = l === net.depth - 1 ? 0 : nOld[l + 1];
        for (let j = 0; j < fo.length / mN; j++) rw[first + j] = fo[j * mN + c.k];
        outRows.push(rw);
        ly.owner.push(t);
        ly.parent.push(-1);
        fresh++;
      }
    }
    ly.W = appendColumns(ly.W, cols);
    ly.b = tensor([ly.b.data.length + biases.length], Float32Array.from([...values(ly.b), ...biases]));
    mask[l] = Uint8Array.from([...mask[l], ...cols.map(() => 1)]);
    if (l === net.depth - 1) net.heads[t] = { V: appendRows(net.heads[t].V, outRows), c: net.heads[t].c };
    else net.layers[l + 1].W = appendRows(net.layers[l + 1].W, outRows);
  }
  return { unlocked, fresh };
}
