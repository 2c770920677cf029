// Language features of *.growth.json through the real backend: semantic diagnostics, completion, hover, CodeLens.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { BackendClient } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-language-'));
const client = new BackendClient();
after(() => {
  client.kill();
  fs.rmSync(work, { recursive: true, force: true });
});

test('the backend serves completion, hover, CodeLens and semantic diagnostics for *.growth.json', async () => {
  const init = await client.initialize(work);
  assert.equal(init.capabilities.hoverProvider, true);
  assert.ok(init.capabilities.completionProvider);
  assert.ok(init.capabilities.codeLensProvider);

  const uri = pathToFileURL(path.join(work, 'split.growth.json')).toString();
  const text =
    '{\n  "dataset": { "name": "mnist" },\n  "model": { "layers": [{ "type": "dense", "units": 8, "activation": "relu" }] },\n  "growth": { "method": "splitting" }\n}\n';
  await client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'jsonc', version: 1, text } });
  const d = await client.until(() => client.diagnostics.find((x) => x.uri === uri), 5000, 'diagnostics');
  assert.deepEqual(
    d.diagnostics.map((x: any) => [x.code, x.severity, x.range]),
    [['unsupportedMethod', 2, { start: { line: 3, character: 24 }, end: { line: 3, character: 35 } }]],
  );

  const completions = await client.conn.sendRequest<any[]>('textDocument/completion', {
    textDocument: { uri },
    position: { line: 3, character: 27 },
  });
  assert.ok(completions.some((c) => c.label === 'firefly' && /integrated gradients/.test(c.documentation.value)));
  const hover = await client.conn.sendRequest<any>('textDocument/hover', { textDocument: { uri }, position: { line: 1, character: 5 } });
  assert.match(hover.contents.value, /^\*\*dataset\*\*/);
  const lenses = await client.conn.sendRequest<any[]>('textDocument/codeLens', { textDocument: { uri } });
  assert.deepEqual(
    lenses.map((l) => [l.command.command, l.command.arguments]),
    [['growthLab.startExperiment', [uri]]],
  );

  const csvUri = pathToFileURL(path.join(work, 'csv.growth.json')).toString();
  await client.conn.sendNotification('textDocument/didOpen', {
    textDocument: { uri: csvUri, languageId: 'jsonc', version: 1, text: '{ "dataset": { "name": "csv", "path": "missing.csv" } }' },
  });
  const c = await client.until(() => client.diagnostics.find((x) => x.uri === csvUri), 5000, 'csv diagnostics');
  assert.deepEqual(
    c.diagnostics.map((x: any) => x.code),
    ['missingFile'],
  );
  assert.equal(await client.shutdown(), 0);
});
