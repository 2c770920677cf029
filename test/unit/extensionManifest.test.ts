// package.json's contributions agree with the extension's command ids and the protocol's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'fs';
import * as path from 'path';
import { ENGINE_NAMES, EXECUTION_PROVIDERS } from '../../common/protocol';
import { COMMAND_CATEGORY, COMMAND_TITLES, COMMANDS, VIEWS } from '../../extension/commands';
import {
  BACKEND_SETTINGS,
  CLIENT_SETTINGS,
  DEFAULT_REVIEW_MODE,
  DEFAULT_SETTINGS,
  REVIEW_MODES,
  SETTINGS_SECTION,
  reviewMode,
} from '../../extension/settings';

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

test('manifest: every command is contributed with its title and category, and nothing else', () => {
  const contributed = pkg.contributes.commands as { command: string; title: string; category: string }[];
  assert.deepEqual(contributed.map((c) => c.command).sort(), Object.values(COMMANDS).sort());
  for (const [key, id] of Object.entries(COMMANDS)) {
    const c = contributed.find((x) => x.command === id)!;
    assert.equal(c.title, COMMAND_TITLES[key as keyof typeof COMMANDS]);
    assert.equal(c.category, COMMAND_CATEGORY);
  }
  for (const items of Object.values(pkg.contributes.menus) as { command: string }[][]) {
    for (const item of items) assert.ok(Object.values(COMMANDS).includes(item.command as never), item.command);
  }
});

test('manifest: settings enums and defaults match the protocol', () => {
  const props = pkg.contributes.configuration.properties;
  assert.deepEqual(Object.keys(props).sort(), [...BACKEND_SETTINGS, ...CLIENT_SETTINGS].map((k) => `${SETTINGS_SECTION}.${k}`).sort());
  assert.deepEqual(props['growthLab.review'].enum, [...REVIEW_MODES]);
  assert.equal(props['growthLab.review'].default, DEFAULT_REVIEW_MODE);
  assert.equal(reviewMode({ get: () => 'ask' }), 'ask');
  assert.equal(reviewMode({ get: () => 'bogus' }), 'auto');
  assert.deepEqual(props['growthLab.engine'].enum, [...ENGINE_NAMES]);
  assert.deepEqual(props['growthLab.executionProvider'].enum, [...EXECUTION_PROVIDERS]);
  assert.equal(props['growthLab.engine'].default, DEFAULT_SETTINGS.engine);
  assert.equal(props['growthLab.executionProvider'].default, DEFAULT_SETTINGS.executionProvider);
  assert.equal(props['growthLab.nodePath'].default, DEFAULT_SETTINGS.nodePath);
  for (const p of Object.values(props) as {
    markdownDescription?: string;
    description?: string;
    enum?: unknown[];
    enumDescriptions?: unknown[];
  }[]) {
    assert.ok(p.markdownDescription || p.description);
    if (p.enum) assert.equal(p.enumDescriptions?.length, p.enum.length);
  }
});

test('manifest: entry point, activation, schema and icon', () => {
  assert.equal(pkg.main, './dist/extension.js');
  assert.deepEqual(pkg.activationEvents, ['workspaceContains:**/*.growth.json', 'onWebviewPanel:growthLab.monitor']);
  assert.deepEqual(pkg.contributes.jsonValidation, [{ fileMatch: '*.growth.json', url: './dist/experiment.schema.json' }]);
  assert.ok(existsSync(path.join(root, pkg.icon)), pkg.icon);
  assert.equal(pkg.scripts.build, 'node scripts/build.mjs');
  assert.equal(pkg.scripts.package, 'node scripts/package.mjs');
});

test('manifest: the Growth Lab side panel, its views, welcome content and item menus', () => {
  const container = pkg.contributes.viewsContainers.activitybar.find((c: { id: string }) => c.id === VIEWS.container);
  assert.equal(container.title, 'Growth Lab');
  assert.ok(existsSync(path.join(root, container.icon)), container.icon);
  const views = pkg.contributes.views[VIEWS.container] as { id: string; type?: string }[];
  assert.deepEqual(
    views.map((v) => v.id),
    [VIEWS.experiments, VIEWS.liveMonitor],
  );
  assert.equal(views[1].type, 'webview');
  const welcome = pkg.contributes.viewsWelcome.find((w: { view: string }) => w.view === VIEWS.experiments);
  assert.match(welcome.contents, new RegExp(`\\(command:${COMMANDS.newExperiment.replace('.', '\\.')}\\)`));
  for (const item of pkg.contributes.menus['view/item/context'] as { when: string }[])
    assert.match(item.when, /^view == growthLab\.experiments && viewItem /);
  const ids = Object.values(COMMANDS) as string[];
  for (const m of (welcome.contents as string).matchAll(/command:([\w.]+)/g)) assert.ok(ids.includes(m[1]), m[1]);
  assert.ok(pkg.contributes.configuration.properties['growthLab.review']);
});

test('manifest: Accept and Reject of a proposed grow have keybindings, active exactly where their diff-title buttons are', () => {
  const keys = pkg.contributes.keybindings as { command: string; key: string; mac: string; when: string }[];
  const titleWhen = (id: string) =>
    (pkg.contributes.menus['editor/title'] as { command: string; when: string }[]).find((m) => m.command === id)!.when;
  assert.deepEqual(
    keys.map((k) => [k.command, k.key, k.mac]),
    [
      [COMMANDS.acceptProposal, 'ctrl+alt+y', 'cmd+alt+y'],
      [COMMANDS.rejectProposal, 'ctrl+alt+n', 'cmd+alt+n'],
    ],
  );
  for (const k of keys) assert.equal(k.when, titleWhen(k.command));
  assert.match(keys[0].when, /resourceScheme == growth-lab/);
  assert.match(keys[0].when, /growthLab\.proposalPending/);
});

test('manifest: limited support in untrusted workspaces; the commands that execute are refused until trust is granted', async () => {
  const { TRUST_REQUIRED, guardCommand, restrictedModeMessage, requestRefusal } = await import('../../extension/workspaceTrust');
  const u = pkg.capabilities.untrustedWorkspaces;
  assert.equal(u.supported, 'limited');
  assert.match(u.description, /Restricted Mode/);
  for (const word of ['Starting', 'resuming', 'growing', 'exporting', 'GPU backend', 'downloading datasets', 'Growth Monitor'])
    assert.ok(u.description.includes(word), word);
  assert.ok(u.restrictedConfigurations.every((k: string) => k in pkg.contributes.configuration.properties));
  assert.deepEqual([...TRUST_REQUIRED].sort(), [
    'acceptProposal',
    'downloadDataset',
    'exportModel',
    'growNetwork',
    'installGpuBackend',
    'pruneNetwork',
    'resumeExperiment',
    'resumeRun',
    'startExperiment',
  ]);
  let trusted = false;
  const ran: string[] = [];
  const refused: string[] = [];
  const start = guardCommand(
    'startExperiment',
    () => trusted,
    async () => void ran.push('start'),
    (m) => refused.push(m),
  );
  const monitor = guardCommand(
    'openMonitor',
    () => trusted,
    async () => void ran.push('monitor'),
    (m) => refused.push(m),
  );
  await start();
  await monitor();
  assert.deepEqual(ran, ['monitor']);
  assert.deepEqual(refused, [restrictedModeMessage('startExperiment')]);
  assert.match(refused[0], /Start Experiment is disabled in Restricted Mode/);
  trusted = true; // onDidGrantWorkspaceTrust: the same registered handler now runs
  await start();
  assert.deepEqual(ran, ['monitor', 'start']);
  assert.match(requestRefusal('growthLab/grow', false)!, /grow is disabled in Restricted Mode/);
  assert.equal(requestRefusal('growthLab/grow', true), undefined);
  assert.equal(requestRefusal('growthLab/listRuns', false), undefined);
  assert.equal(requestRefusal('growthLab/getRunHistory', false), undefined);
});

test('manifest: README links are reference-style or absolute (vsce refuses relative inline links without a repository)', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  // [text](target) where target is relative; images (![...]) are rewritten by scripts/package.mjs
  const inline = [...readme.matchAll(/(?<!!)\[[^\]]*\]\((?!https?:|#)([^)]+)\)/g)].map((m) => m[1]);
  assert.deepEqual(inline, [], `relative inline links: ${inline.join(', ')}`);
  assert.equal(pkg.extensionKind?.[0], 'workspace', 'the backend runs where the workspace is (Remote, Codespaces)');
});
