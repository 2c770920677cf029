/**
 * ONNX export: the eval-mode forward graph (buildForward, batch norm with running statistics) emitted
 * by the engine's own ONNX writer (onnx-proto, opset 17) with the weights as initializers.
 * Input "input" [N, ...inputShape] (NCHW images, like ours), output "output" [N, outputs] (raw: logits
 * for classification).
 */
import { Graph, HostTensor, OPSET, Value, encodeModel, toOnnxModel } from '../engine';
import { buildForward } from '../model/forward';
import { allParamShapes } from '../model/spec';
import type { ExportFile } from './files';
import { ExportSource, checkSource, tensorOf } from './source';

export const ONNX_FILE = 'model.onnx';
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';
export { OPSET as ONNX_OPSET };

export function buildOnnxBytes(src: ExportSource): Uint8Array {
  checkSource(src);
  const g = new Graph(`growth_lab_${src.runId}`.replace(/[^A-Za-z0-9_]/g, '_'));
  const x = g.input(ONNX_INPUT, 'float32', ['N', ...src.spec.inputShape]);
  const weights = new Map<string, Value>();
  const initializers = new Map<Value, HostTensor>();
  for (const p of allParamShapes(src.spec)) {
    const v = g.input(p.name, 'float32', p.shape);
    weights.set(p.name, v);
    initializers.set(v, { dtype: 'float32', shape: p.shape, data: tensorOf(src, p.name, p.shape) });
  }
  const fwd = buildForward(
    src.spec,
    x,
    (name) => {
      const v = weights.get(name);
      if (!v) throw new Error(`internal: no weight ${name}`);
      return v;
    },
    'eval',
  );
  const model = toOnnxModel(g, [fwd.output], {
    outputNames: [ONNX_OUTPUT],
    initializers,
    portable: true,
    docString: `Growth Lab export of run ${src.runId} (${src.name}); input NCHW like Growth Lab's; output raw${src.spec.task === 'classification' ? ' logits' : ''}.`,
  });
  return encodeModel(model);
}

export function buildOnnxExport(src: ExportSource): ExportFile[] {
  return [{ name: ONNX_FILE, data: buildOnnxBytes(src) }];
}
