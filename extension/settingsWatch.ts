/** Settings that need a backend restart (BACKEND_SETTINGS): changed while it runs, offer "Restart Backend". */
import * as vscode from 'vscode';
import type { Backend } from './backend';
import { COMMANDS } from './commands';
import { RESTART_BACKEND } from './ctx';
import { BACKEND_SETTINGS, SETTINGS_SECTION } from './settings';

export function watchBackendSettings(backend: Backend): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (!BACKEND_SETTINGS.some((k) => e.affectsConfiguration(`${SETTINGS_SECTION}.${k}`))) return;
    if (!backend.isRunning()) return; // the next start uses the new settings
    void vscode.window
      .showInformationMessage(
        'Growth Lab: restart the backend to use the new engine, execution provider or Node settings.',
        RESTART_BACKEND,
      )
      .then((choice) => {
        if (choice === RESTART_BACKEND) void vscode.commands.executeCommand(COMMANDS.restartBackend);
      });
  });
}
