import { promises as fsp } from 'fs';
import * as path from 'path';
import type { DatasetConfig } from '../../common/protocol';
import { listed, quoted } from '../messages';
import { DatasetError } from './errors';
import { streamFor } from './streams';
import type { RowSource } from './subset';

/**
 * A user's own CSV file: numeric feature columns plus one label column. Delimiter: ',' (';' or tab when
 * the first line has more of those; tab for .tsv files). Quoted fields ("a,b", "" for a quote) are
 * understood. Blank lines are skipped. A header row is detected: the first row is a header when one
 * of its cells is not a number while the cell below it is (or, for a single row, when no cell is).
 */
export interface CsvTable {
  file: string;
  header: string[] | null;
  /** Data rows (cells untrimmed) and the 1-based line each starts on. */
  rows: string[][];
  lines: number[];
  width: number;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const isNumber = (s: string) => NUMBER.test(s.trim());

function chooseDelimiter(text: string, file: string): string {
  if (/\.tsv$/i.test(file)) return '\t';
  const end = text.indexOf('\n');
  const first = end < 0 ? text : text.slice(0, end);
  const count = (ch: string) => first.split(ch).length - 1;
  const c = count(','),
    t = count('\t'),
    s = count(';');
  if (t > c && t >= s) return '\t';
  if (s > c && s > t) return ';';
  return ',';
}

interface RawRecord {
  cells: string[];
  line: number;
}

function splitSimple(text: string, delim: string): RawRecord[] {
  const out: RawRecord[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    let l = lines[k];
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (l.trim() === '') continue;
    out.push({ cells: l.split(delim), line: k + 1 });
  }
  return out;
}

function splitQuoted(text: string, delim: string, file: string): RawRecord[] {
  const out: RawRecord[] = [];
  let cells: string[] = [];
  let field = '';
  let quoted = false; // the current field was quoted
  let line = 1;
  let recLine = 1;
  const endRecord = () => {
    cells.push(field);
    if (!(cells.length === 1 && !quoted && field.trim() === '')) out.push({ cells, line: recLine });
    cells = [];
    field = '';
    quoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && field.trim() === '' && !quoted) {
      // a quoted field: read to the closing quote
      const startLine = line;
      field = '';
      quoted = true;
      let closed = false;
      for (i++; i < text.length; i++) {
        const d = text[i];
        if (d === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else {
            closed = true;
            break;
          }
        } else {
          if (d === '\n') line++;
          field += d;
        }
      }
      if (!closed) throw new DatasetError(`${file}, line ${startLine}: unterminated quoted field`);
      // only blanks may follow the closing quote
      while (i + 1 < text.length && (text[i + 1] === ' ' || text[i + 1] === '\t') && text[i + 1] !== delim) i++;
      const n = text[i + 1];
      if (n !== undefined && n !== delim && n !== '\n' && n !== '\r') {
        throw new DatasetError(`${file}, line ${line}: unexpected ${JSON.stringify(n)} after a closing quote`);
      }
    } else if (c === delim) {
      cells.push(field);
      field = '';
      quoted = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recLine = line;
    } else {
      field += c;
    }
  }
  if (field !== '' || quoted || cells.length > 0) endRecord();
  return out;
}

/** Splits a CSV text into header and rows, checking that every row has the same number of cells. */
export function parseCsvText(text: string, file: string): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const delim = chooseDelimiter(text, file);
  const records = text.includes('"') ? splitQuoted(text, delim, file) : splitSimple(text, delim);
  if (records.length === 0) throw new DatasetError(`${file}: the file is empty`);
  const width = records[0].cells.length;
  for (const r of records) {
    if (r.cells.length !== width) {
      throw new DatasetError(
        `${file}, line ${r.line}: ragged row: ${r.cells.length} columns, expected ${width} (as on line ${records[0].line})`,
      );
    }
  }
  const first = records[0].cells;
  const second = records[1]?.cells;
  const hasHeader = second ? first.some((cell, j) => !isNumber(cell) && isNumber(second[j])) : first.every((cell) => !isNumber(cell));
  const data = hasHeader ? records.slice(1) : records;
  if (data.length === 0) throw new DatasetError(`${file}: has a header row but no data rows`);
  return {
    file,
    header: hasHeader ? first.map((h) => h.trim()) : null,
    rows: data.map((r) => r.cells),
    lines: data.map((r) => r.line),
    width,
  };
}

/** The 0-based index of the label column: by header name, by index, or the last column. */
export function resolveLabelColumn(table: CsvTable, labelColumn: string | number | undefined): number {
  const { file, header, width } = table;
  if (labelColumn === undefined) return width - 1;
  if (typeof labelColumn === 'number') {
    if (!Number.isInteger(labelColumn) || labelColumn < 0 || labelColumn >= width) {
      throw new DatasetError(
        `${file}: labelColumn ${labelColumn} does not exist: rows have ${width} columns (0-based indices 0..${width - 1})`,
      );
    }
    return labelColumn;
  }
  if (!header) {
    throw new DatasetError(
      `${file}: labelColumn ${quoted(labelColumn)} names a header column, but the file has no header row (give a 0-based index instead)`,
    );
  }
  const j = header.indexOf(labelColumn.trim());
  if (j < 0) {
    throw new DatasetError(
      `${file}: labelColumn ${quoted(labelColumn)} does not exist; the header has ${listed(
        header.map((h) => quoted(h)),
        undefined,
        'columns',
      )}`,
    );
  }
  return j;
}

function cellError(table: CsvTable, row: number, col: number, what: string): DatasetError {
  const name = table.header ? ` (${quoted(table.header[col])})` : '';
  return new DatasetError(`${table.file}, line ${table.lines[row]}, column ${col + 1}${name}: ${what}`);
}

function parseCell(table: CsvTable, row: number, col: number): number {
  const s = table.rows[row][col].trim();
  if (!NUMBER.test(s)) throw cellError(table, row, col, s === '' ? 'empty cell, expected a number' : `${quoted(s)} is not a number`);
  return Number(s);
}

/** Numeric features (all columns but the label), row-major. */
export function csvFeatures(table: CsvTable, label: number): Float32Array {
  const k = table.width - 1;
  const x = new Float32Array(table.rows.length * k);
  for (let r = 0, o = 0; r < table.rows.length; r++) {
    for (let c = 0; c < table.width; c++) if (c !== label) x[o++] = parseCell(table, r, c);
  }
  return x;
}

/** Label cells, trimmed. */
const labelCells = (table: CsvTable, label: number) => table.rows.map((r) => r[label].trim());

/**
 * Class indices 0..K-1 in sorted order of the distinct label values: numeric order when every label
 * is a number (then "1" and "1.0" are the same class, named "1"), else code-unit string order.
 */
export function classMapping(labels: string[]): { classNames: string[]; index: (s: string) => number } {
  const numeric = labels.every((s) => NUMBER.test(s));
  const key = numeric ? (s: string) => String(Number(s)) : (s: string) => s;
  const distinct = [...new Set(labels.map(key))];
  if (numeric) distinct.sort((a, b) => Number(a) - Number(b));
  else distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pos = new Map(distinct.map((name, i) => [name, i]));
  return { classNames: distinct, index: (s) => pos.get(key(s)) as number };
}

export interface CsvSources {
  train: RowSource;
  test: RowSource;
  task: 'classification' | 'regression';
  numClasses: number;
  classNames?: string[];
  featureCount: number;
  labelName: string;
  details: string;
}

async function readTable(p: string, field: string, given: string, baseDir: string): Promise<CsvTable> {
  let text: string;
  try {
    text = await fsp.readFile(p, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DatasetError(`${p}: CSV file not found (dataset.${field} ${quoted(given)}, relative to ${baseDir})`);
    if (code === 'EISDIR') throw new DatasetError(`${p}: is a folder, not a CSV file (dataset.${field})`);
    throw new DatasetError(`${p}: cannot read (${(e as Error).message})`);
  }
  return parseCsvText(text, p);
}

export async function loadCsvSources(cfg: DatasetConfig, baseDir: string, seed: number): Promise<CsvSources> {
  if (typeof cfg.path !== 'string' || cfg.path.trim() === '') {
    throw new DatasetError('csv: dataset.path is required (the CSV file, relative to the experiment file)');
  }
  const task = cfg.task;
  if (task !== undefined && task !== 'classification' && task !== 'regression') {
    throw new DatasetError(`csv: task must be "classification" or "regression", got ${JSON.stringify(task)}`);
  }
  const trainPath = path.resolve(baseDir, cfg.path);
  const train = await readTable(trainPath, 'path', cfg.path, baseDir);
  if (train.width < 2)
    throw new DatasetError(`${trainPath}: needs at least one feature column besides the label column, has ${train.width} column`);
  const label = resolveLabelColumn(train, cfg.labelColumn);
  const labelName = train.header ? train.header[label] : `column ${label}`;

  let test: CsvTable | undefined;
  let testLabel = label;
  if (cfg.testPath !== undefined) {
    const testPath = path.resolve(baseDir, cfg.testPath);
    test = await readTable(testPath, 'testPath', cfg.testPath, baseDir);
    if (test.width !== train.width) {
      throw new DatasetError(`${testPath}: has ${test.width} columns but ${trainPath} has ${train.width}`);
    }
    if (typeof cfg.labelColumn === 'string' && test.header) testLabel = resolveLabelColumn(test, cfg.labelColumn);
  }

  const xTrain = csvFeatures(train, label);
  const xTest = test ? csvFeatures(test, testLabel) : undefined;
  const lTrain = labelCells(train, label);
  const lTest = test ? labelCells(test, testLabel) : [];

  const resolvedTask: 'classification' | 'regression' = task ?? 'classification';
  let yTrain: Float32Array;
  let yTest: Float32Array;
  let classNames: string[] | undefined;
  if (resolvedTask === 'classification') {
    const all = lTrain.concat(lTest);
    if (task === undefined && all.every((s) => NUMBER.test(s)) && all.some((s) => !Number.isInteger(Number(s)))) {
      throw new DatasetError(
        `${trainPath}: label column ${quoted(labelName)} holds non-integer numbers; set dataset.task to "regression" (or "classification" to treat each value as a class)`,
      );
    }
    const m = classMapping(all);
    classNames = m.classNames;
    yTrain = Float32Array.from(lTrain, m.index);
    yTest = Float32Array.from(lTest, m.index);
  } else {
    yTrain = Float32Array.from(lTrain, (_, r) => parseCell(train, r, label));
    yTest = test ? Float32Array.from(lTest, (_, r) => parseCell(test as CsvTable, r, testLabel)) : new Float32Array(0);
  }

  const k = train.width - 1;
  const trainSrc: RowSource = { x: xTrain, y: yTrain, featureSize: k, targetSize: 1 };
  let testSrc: RowSource;
  let details: string;
  if (test && xTest) {
    testSrc = { x: xTest, y: yTest, featureSize: k, targetSize: 1 };
    details = `test rows from ${path.basename(test.file)}`;
  } else {
    const f = cfg.testFraction ?? 0.2;
    const n = train.rows.length;
    if (typeof f !== 'number' || !(f > 0 && f < 1)) {
      throw new DatasetError(`csv: testFraction must be a number between 0 and 1 (exclusive), got ${JSON.stringify(f)}`);
    }
    const nTest = Math.round(n * f);
    if (nTest < 1 || nTest > n - 1) {
      throw new DatasetError(`${trainPath}: testFraction ${f} of ${n} rows gives ${nTest} test rows; both splits need at least one row`);
    }
    const p = streamFor(seed, 'split').permutation(n);
    const testRows = p.slice(0, nTest).sort();
    const trainRows = p.slice(nTest).sort();
    testSrc = { ...trainSrc, rows: testRows };
    trainSrc.rows = trainRows;
    details = `seeded testFraction ${f} split of ${n} rows`;
  }
  const shown = (classNames ?? [])
    .slice(0, 10)
    .map((c, i) => `${c.length > 40 ? `${c.slice(0, 40)}…` : c}=${i}`)
    .join(', ');
  const classes = classNames ? `, ${classNames.length} classes (${shown}${classNames.length > 10 ? ', ...' : ''})` : '';
  return {
    train: trainSrc,
    test: testSrc,
    task: resolvedTask,
    numClasses: classNames ? classNames.length : 0,
    classNames,
    featureCount: k,
    labelName,
    details: `${details}, ${k} features, label ${train.header ? quoted(labelName) : labelName} (${resolvedTask}${classes})`,
  };
}
