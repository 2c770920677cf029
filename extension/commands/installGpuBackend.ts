/** "Install GPU backend": npm installs @tensorflow/tfjs-node(-gpu) into the extension's global storage. */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { GPU_BACKEND_CHOICES, installFailureReason, installPlan, windowsNodeDir } from '../gpuBackend';
import { restartBackend } from './backend';
import { plainText } from '../plainText';

export const installGpuBackend = (ctx: Ctx) => async (): Promise<void> => {
  const storageDir = ctx.extension.globalStorageUri.fsPath;
  const log = (line: string): void => ctx.backend.log(line);
  const picked = await vscode.window.showQuickPick(
    GPU_BACKEND_CHOICES.map((c) => ({ ...c, description: '' })),
    {
      title: 'Growth Lab: Install GPU Backend',
      placeHolder: 'TensorFlow backend for the tfjs engine (growthLab.engine: tfjs)',
    },
  );
  if (!picked) return;
  const winNodeDir =
    process.platform === 'win32' ? windowsNodeDir(process.env.PATH ?? process.env.Path, (f) => fs.existsSync(f)) : undefined;
  const plan = installPlan(storageDir, picked.variant, process.platform, winNodeDir);
  let output = '';
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Growth Lab: installing ${picked.label}…`, cancellable: true },
    (_progress, token) =>
      new Promise<{ code: number | null }>((resolve) => {
        fs.mkdirSync(plan.dir, { recursive: true });
        fs.writeFileSync(path.join(plan.dir, 'package.json'), JSON.stringify(plan.packageJson, null, 2));
        log(`installing ${picked.label}: ${plan.command} ${plan.args.join(' ')} (in ${plan.dir})`);
        const child = spawn(plan.command, plan.args, { cwd: plan.dir, shell: false, env: { ...process.env, npm_config_yes: 'true' } });
        const collect = (d: Buffer) => {
          output += d.toString();
          for (const line of d.toString().split('\n')) if (line.trim()) log(`npm: ${line}`);
        };
        child.stdout.on('data', collect);
        child.stderr.on('data', collect);
        child.on('error', (e) => {
          output += `\nspawn ${plan.command}: ${e.message}`;
          resolve({ code: null });
        });
        child.on('close', (code) => resolve({ code }));
        token.onCancellationRequested(() => child.kill());
      }),
  );
  if (result.code === 0) {
    const action = await vscode.window.showInformationMessage(
      `Growth Lab: installed ${picked.label}. Restart the backend and set growthLab.engine to "tfjs" to use it.`,
      'Restart Backend',
    );
    if (action === 'Restart Backend') await restartBackend(ctx)();
    return;
  }
  const action = await vscode.window.showErrorMessage(
    plainText(`Growth Lab: could not install ${picked.label}: ${installFailureReason(output, result.code)}.`),
    'Show logs',
  );
  if (action === 'Show logs') ctx.showLogs();
};
