/** The one error type of the datasets layer: every failure to find, read or parse data throws this. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/**
 * Runs a parser over untrusted bytes: a read past the end that a bounds check missed (a RangeError
 * from DataView or a typed array) becomes a DatasetError saying the file is damaged.
 */
export function parsing<T>(file: string, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    if (e instanceof RangeError || e instanceof TypeError) throw new DatasetError(`${file}: damaged ${what} (${e.message})`);
    throw e;
  }
}
