/**
 * Zero padding of image rows (dataset field `pad`): `pad` pixels of 0 on each side of every channel,
 * so MNIST's 28x28 digits become 32x32 with pad 2, the CIFAR size that VGG and the CIFAR ResNets are
 * built for (LeNet-5 reads MNIST the same way, LeCun et al. 1998 §II.A). Pure.
 */
import { DatasetError } from './errors';

/** The largest pad accepted: beyond it the image is mostly border. */
export const MAX_PAD = 64;

/** Checks a `pad` field: an integer in 0..MAX_PAD, or absent (0). */
export function checkPad(pad: unknown): number {
  if (pad === undefined) return 0;
  if (typeof pad !== 'number' || !Number.isInteger(pad) || pad < 0 || pad > MAX_PAD)
    throw new DatasetError(`dataset.pad must be an integer from 0 to ${MAX_PAD}, got ${JSON.stringify(pad)}`);
  return pad;
}

/** Rows of n images [c, h, w] padded to [c, h + 2·pad, w + 2·pad] with zeros (a new array; `x` is untouched). */
export function padImages(x: Float32Array, n: number, shape: readonly [number, number, number], pad: number): Float32Array {
  const [c, h, w] = shape;
  if (x.length !== n * c * h * w) throw new Error(`padImages: ${x.length} values are not ${n} images of ${c}x${h}x${w}`);
  if (pad === 0) return x;
  const ph = h + 2 * pad,
    pw = w + 2 * pad;
  const out = new Float32Array(n * c * ph * pw);
  for (let img = 0; img < n * c; img++) {
    const src = img * h * w,
      dst = img * ph * pw + pad * pw + pad;
    for (let r = 0; r < h; r++) out.set(x.subarray(src + r * w, src + (r + 1) * w), dst + r * pw);
  }
  return out;
}
