/**
 * A real VS Code (code-server 4.100.3, VS Code 1.100) with the packaged extension installed, driven
 * like a user through Debian's chromium and playwright-core. Loopback only; stopped by pid.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import { until } from '../helpers/until';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';

export const ROOT = path.resolve(__dirname, '..', '..');
export const RESULTS = path.join(ROOT, 'test-results', 'e2e');

/**
 * Runs the tiers' setup step for this one (scripts/testSetup.sh e2e: chromium, ripgrep, libkrb5-dev,
 * code-server in GROWTH_LAB_E2E_CACHE); returns code-server's path, or why this machine cannot run it.
 */
export function setupCodeServer(): { bin?: string; reason?: string } {
  if (process.env.GROWTH_LAB_E2E === 'skip') return { reason: 'GROWTH_LAB_E2E=skip' };
  try {
    const out = execFileSync('bash', [path.join(ROOT, 'scripts', 'testSetup.sh'), 'e2e'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 15 * 60 * 1000,
    });
    const bin = out.trim().split('\n').pop()!;
    return fs.existsSync(bin) ? { bin } : { reason: `setup printed no code-server path (${bin})` };
  } catch (e) {
    return { reason: `scripts/testSetup.sh e2e failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** The packaged extension (npm run package), built once per test run. */
export function packageExtension(): string {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 10 * 60 * 1000,
  });
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const vsix = path.join(ROOT, `${pkg.name}-linux-x64-${pkg.version}.vsix`);
  if (!fs.existsSync(vsix)) throw new Error(`${vsix} was not produced`);
  return vsix;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export class VsCode {
  proc: ChildProcess | undefined;
  browser: Browser | undefined;
  page!: Page;
  log = '';
  private shot = 0;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-e2e-'));
  readonly workspace = path.join(this.dir, 'workspace');
  readonly extensions = path.join(this.dir, 'extensions');
  readonly userData = path.join(this.dir, 'user-data');
  port = 0;

  /** `restricted`: workspace trust on and this folder untrusted, so VS Code opens it in Restricted Mode. */
  constructor(
    private readonly bin: string,
    private readonly opts: { restricted?: boolean } = {},
  ) {
    fs.mkdirSync(this.workspace, { recursive: true });
    fs.mkdirSync(path.join(this.userData, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(this.userData, 'User', 'settings.json'),
      JSON.stringify(
        {
          'security.workspace.trust.enabled': !!opts.restricted,
          // No "Do you trust the authors?" prompt: an untrusted folder opens straight in Restricted Mode.
          'security.workspace.trust.startupPrompt': 'never',
          'workbench.startupEditor': 'none',
          'workbench.tips.enabled': false,
          'extensions.autoUpdate': false,
          'extensions.autoCheckUpdates': false,
        },
        null,
        2,
      ),
    );
    fs.mkdirSync(RESULTS, { recursive: true });
  }

  install(vsix: string): void {
    execFileSync(this.bin, ['--extensions-dir', this.extensions, '--user-data-dir', this.userData, '--install-extension', vsix], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 5 * 60 * 1000,
    });
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.proc = spawn(
      this.bin,
      [
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${this.port}`,
        '--extensions-dir',
        this.extensions,
        '--user-data-dir',
        this.userData,
        '--disable-telemetry',
        '--disable-update-check',
        ...(this.opts.restricted ? [] : ['--disable-workspace-trust']),
        this.workspace,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc.stdout!.on('data', (d) => (this.log += d));
    this.proc.stderr!.on('data', (d) => (this.log += d));
    await this.waitFor(() => /HTTP server listening on/.test(this.log), 60000, 'code-server to listen');
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    this.page = await this.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await this.open();
  }

  async open(): Promise<void> {
    await this.page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.workspace)}`);
    await this.page.waitForSelector('.monaco-workbench', { timeout: 90000 });
    await this.page.waitForSelector('#workbench\\.parts\\.statusbar', { timeout: 60000 });
  }

  /** The shared until(), checking every 200 ms (each check reads the page through playwright). */
  waitFor<T>(cond: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> {
    return until(what, cond as () => Promise<NonNullable<T> | undefined>, ms, 200);
  }

  async screenshot(name: string): Promise<void> {
    this.shot++;
    await this.page.screenshot({ path: path.join(RESULTS, `${String(this.shot).padStart(2, '0')}-${name}.png`) });
  }

  /** Run a command from the command palette by its title. */
  async command(title: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const input = widget.locator('input.input');
    // A quick input that is still closing (e.g. Quick Open) swallows the next one: wait until it is gone,
    // then open the palette, and open it again if something closed it before we could type.
    await this.waitFor(async () => !(await widget.isVisible()), 10000, 'the previous quick input to close');
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 5000 });
        await input.fill(`>${title}`, { timeout: 5000 });
        const row = widget.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
        await row.waitFor({ state: 'visible', timeout: 10000 });
        await this.page.keyboard.press('Enter');
        // The command runs once the palette has closed or been replaced by the command's own quick
        // input (which starts empty): until then a pick() would type into the closing palette.
        await this.waitFor(
          async () => !(await widget.isVisible()) || (await input.inputValue().catch(() => '')) !== `>${title}`,
          10000,
          `the palette to run "${title}"`,
        );
        return;
      } catch (e) {
        if (attempt === 3) throw e;
        await this.page.keyboard.press('Escape');
      }
    }
  }

  /**
   * The open quick input whose title has `title`: waits for it, so that a prompt still closing (the
   * palette, the previous step's pick) is never mistaken for the one expected.
   */
  async quickInput(title: string, ms = 30000): Promise<Locator> {
    const widget = this.page.locator('.quick-input-widget');
    await widget.locator('.quick-input-title', { hasText: title }).first().waitFor({ state: 'visible', timeout: ms });
    return widget;
  }

  /**
   * Pick an item of the open quick pick by its label (typed into the filter when it is text); with
   * `title`, only once the quick pick with that title is open.
   */
  async pick(label: string | RegExp, title?: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    if (title !== undefined) await this.quickInput(title);
    else await widget.waitFor({ state: 'visible', timeout: 30000 });
    if (typeof label === 'string') {
      await widget.locator('input.input').fill(label);
      await widget.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ state: 'visible', timeout: 30000 });
      await this.page.keyboard.press('Enter');
      return;
    }
    const row = widget.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
    await row.waitFor({ state: 'visible', timeout: 30000 });
    await row.click();
  }

  async openFile(name: string): Promise<void> {
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 20000 });
    await input.fill(name);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 20000 });
    await this.page.keyboard.press('Enter');
    await this.page.locator('.tab', { hasText: name }).first().waitFor({ timeout: 20000 });
  }

  async statusBarText(): Promise<string> {
    return (await this.page.locator('#workbench\\.parts\\.statusbar').innerText()).replace(/\s+/g, ' ');
  }

  /** The webview frame whose document has `selector` (webviews live in nested iframes). */
  async webviewFrame(selector: string, ms = 60000): Promise<Frame> {
    return this.waitFor(
      async () => {
        for (const f of this.page.frames()) {
          try {
            if (await f.$(selector)) return f;
          } catch {
            /* a frame that is navigating */
          }
        }
        return undefined;
      },
      ms,
      `a webview with ${selector}`,
    );
  }

  async stop(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
    if (this.proc && this.proc.exitCode === null) {
      const proc = this.proc;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const kill = setTimeout(() => proc.kill('SIGKILL'), 10000); // when SIGTERM has not ended it
      await exited;
      clearTimeout(kill);
    }
  }

  /** code-server's own log and the extension host's logs (printed when a test fails). */
  logs(): string {
    const parts = [`--- code-server ---\n${this.log.slice(-6000)}`];
    const logsDir = path.join(this.userData, 'logs');
    if (fs.existsSync(logsDir)) {
      for (const f of walk(logsDir)
        .filter((p) => /exthost|Growth Lab|remoteagent|renderer/.test(p))
        .slice(-6)) {
        parts.push(`--- ${path.relative(logsDir, f)} ---\n${fs.readFileSync(f, 'utf8').slice(-4000)}`);
      }
    }
    return parts.join('\n');
  }
}

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
