/** Element types and shapes of the graph IR. The batch dimension is the one symbolic dimension, 'N'. */
export type DType = 'float32' | 'float64' | 'int64' | 'bool';
export type Dim = number | 'N';
export type Shape = Dim[];

export type HostData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

/** A tensor in host memory: what goes into and comes out of a compiled graph. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: HostData;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Replace the symbolic batch dimension by a concrete size. */
export function concreteShape(shape: Shape, batch: number): number[] {
  return shape.map((d) => (d === 'N' ? batch : d));
}

export function allocate(dtype: DType, n: number): HostData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

export function hostTensor(dtype: DType, shape: number[], values?: ArrayLike<number> | HostData): HostTensor {
  const n = sizeOf(shape);
  if (values === undefined) return { dtype, shape, data: allocate(dtype, n) };
  if (values.length !== n) throw new Error(`hostTensor: ${values.length} values for shape [${shape.join(', ')}] (${n} elements)`);
  if (dtype === 'float32' && values instanceof Float32Array) return { dtype, shape, data: values };
  if (dtype === 'float64' && values instanceof Float64Array) return { dtype, shape, data: values };
  if (dtype === 'int64' && values instanceof BigInt64Array) return { dtype, shape, data: values };
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) {
    const v = Number((values as ArrayLike<number | bigint>)[i]);
    if (dtype === 'int64') (data as BigInt64Array)[i] = BigInt(Math.trunc(v));
    else (data as Float32Array)[i] = v;
  }
  return { dtype, shape, data };
}

/** Values of a host tensor as plain numbers (tests, summaries). */
export function toNumbers(t: HostTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}
