/**
 * Loads the real webview bundle in headless Chromium (Debian's /usr/bin/chromium via playwright-core)
 * on a page made by the extension's own `monitorHtml` (same Content-Security-Policy and nonce), served
 * from 127.0.0.1 the way VS Code serves webview resources from its own origin. A stand-in for
 * `acquireVsCodeApi` records every message the page posts and hands it to the test's "extension"
 * (the real MonitorController with a fake backend); VS Code's theme variables and body class are
 * applied as VS Code does.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { monitorHtml, nonceFrom } from '../../extension/monitorHtml';
import { MonitorController, type MonitorHost } from '../../extension/monitorController';
import type { RequestTypes, RunEvent, RunSummary, WebviewToExtensionMessage } from '../../common/protocol';
import type { TestTheme } from './themes';
import { historyPage } from '../helpers/historyPage';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist', 'webview');
export const FIXTURES = path.join(__dirname, 'fixtures');
export const RESULTS = path.join(ROOT, 'test-results', 'webview');
export { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';

/** Builds dist/webview/webview.js and dist/webview/webview.css with the project's own esbuild options (scripts/build.mjs). */
export async function buildWebview(): Promise<void> {
  const buildModule = (await import(pathToFileURL(path.join(ROOT, 'scripts', 'build.mjs')).href)) as {
    buildTargets(o: { minify?: boolean; sourcemap?: boolean }): { label: string; entry: string; options: Record<string, unknown> }[];
  };
  const esbuild = await import('esbuild');
  const target = buildModule.buildTargets({ sourcemap: false }).find((t) => t.label === 'webview');
  if (!target) throw new Error('scripts/build.mjs has no webview target');
  await esbuild.build({ ...target.options, entryPoints: [path.join(ROOT, target.entry)], absWorkingDir: ROOT, logLevel: 'error' });
}

export function readEvents(name: string): RunEvent[] {
  return fs
    .readFileSync(path.join(FIXTURES, `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RunEvent);
}

export interface Served {
  origin: string;
  /** Paths the page requested. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves the page (a fresh nonce per load) and dist/webview.{js,css}; anything else is a 404. */
export async function serve(): Promise<Served> {
  const requests: string[] = [];
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== '/favicon.ico') requests.push(url.pathname);
    if (url.pathname === '/' || url.pathname === '/index.html') {
      const html = monitorHtml({
        cspSource: origin,
        nonce: nonceFrom(randomBytes(16)),
        scriptUri: `${origin}/dist/webview.js`,
        styleUri: `${origin}/dist/webview.css`,
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    const file = { '/dist/webview.js': 'webview.js', '/dist/webview.css': 'webview.css' }[url.pathname];
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end(); // Chromium asks for it; VS Code's webviews have none
      return;
    }
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/css', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(path.join(DIST, file)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // close() also drops Chromium's idle keep-alive connections, which would hold the server open.
  return {
    origin,
    requests,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function missingChromium(): string {
  return process.env.GROWTH_LAB_CHROMIUM
    ? `${CHROMIUM} (GROWTH_LAB_CHROMIUM) is missing`
    : `${CHROMIUM} is missing: run \`bash scripts/testSetup.sh webview\` (installs Debian's chromium), or point GROWTH_LAB_CHROMIUM at a Chromium`;
}

export async function launch(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(missingChromium());
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** What the page did that it should not have: CSP violations, uncaught errors, console errors. */
export interface PageProblems {
  csp: { directive: string; blocked: string }[];
  errors: string[];
}

/**
 * A page with the acquireVsCodeApi stand-in (state kept in sessionStorage, so a reload keeps it like
 * VS Code does) and `theme` applied. Every posted message goes to `onPosted` (in Node).
 */
export async function openPage(
  browser: Browser,
  origin: string,
  theme: TestTheme,
  onPosted: (msg: unknown) => void,
  viewport = { width: 1360, height: 1000 },
): Promise<{ page: Page; problems: PageProblems }> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: PageProblems = { csp: [], errors: [] };
  page.on('pageerror', (e) => problems.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(`console: ${m.text()}`);
  });
  await page.exposeFunction('__growthLabToExtension', (msg: unknown) => onPosted(msg));
  // tsx compiles the functions passed to the page with esbuild's keepNames, which calls __name().
  await page.addInitScript({ content: 'window.__name = (f) => f;' });
  await page.addInitScript(
    ({ vars, bodyClass }) => {
      const w = window as unknown as Record<string, unknown>;
      const csp: { directive: string; blocked: string }[] = [];
      w.__cspViolations = csp;
      document.addEventListener('securitypolicyviolation', (e) => csp.push({ directive: e.violatedDirective, blocked: e.blockedURI }));
      const posted: unknown[] = [];
      w.__posted = posted;
      let acquired = false;
      const KEY = 'vscode-webview-state';
      w.acquireVsCodeApi = () => {
        if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
        acquired = true;
        return Object.freeze({
          postMessage: (m: unknown) => {
            const copy = JSON.parse(JSON.stringify(m));
            posted.push(copy);
            (w.__growthLabToExtension as (m: unknown) => void)(copy);
          },
          getState: () => {
            const s = sessionStorage.getItem(KEY);
            return s ? JSON.parse(s) : undefined;
          },
          setState: (s: unknown) => {
            sessionStorage.setItem(KEY, JSON.stringify(s));
            return s;
          },
        });
      };
      const apply = (): void => {
        for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
        document.body.className = bodyClass;
        document.body.dataset.vscodeThemeKind = bodyClass;
      };
      // Init scripts run before <html> exists: apply the theme as soon as <body> does.
      if (document.body) apply();
      else {
        const obs = new MutationObserver(() => {
          if (document.body) {
            obs.disconnect();
            apply();
          }
        });
        obs.observe(document, { childList: true, subtree: true });
      }
    },
    { vars: theme.vars, bodyClass: theme.bodyClass },
  );
  return { page, problems };
}

/** Switches the theme the way VS Code does (new variables on <html>, new class on <body>). */
export async function setTheme(page: Page, theme: TestTheme): Promise<void> {
  await page.evaluate(
    ({ vars, bodyClass }) => {
      const st = document.documentElement.style;
      for (let i = st.length - 1; i >= 0; i--) if (st[i].startsWith('--vscode-')) st.removeProperty(st[i]);
      for (const [k, v] of Object.entries(vars)) st.setProperty(k, v);
      document.body.className = bodyClass;
      document.body.dataset.vscodeThemeKind = bodyClass;
    },
    { vars: theme.vars, bodyClass: theme.bodyClass },
  );
  await frames(page, 3);
}

/** Waits `n` animation frames in the page (the panel redraws once per frame). */
export async function frames(page: Page, n = 2): Promise<void> {
  await page.evaluate(
    (k) =>
      new Promise<void>((resolve) => {
        let left = k;
        const tick = (): void => {
          if (--left <= 0) resolve();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    n,
  );
}

/** Posts a message to the page as the extension does (window message event). */
export async function postToPage(page: Page, msg: unknown): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg);
}

/**
 * The extension side of a monitor test: a real MonitorController (set by the subclass) whose messages
 * reach the page in order, and the page's messages handed back to it as MonitorManager does.
 */
export class ExtensionBridge {
  page!: Page;
  controller!: MonitorController;
  readonly fromWebview: WebviewToExtensionMessage[] = [];
  /** Messages the extension side has posted to the page so far. */
  posted = 0;
  private chain: Promise<unknown> = Promise.resolve();

  /** MonitorHost.post: after the messages before it (a failure, e.g. a closing page, is dropped). */
  protected post(msg: unknown, send: (page: Page, msg: unknown) => Promise<unknown> = postToPage): Promise<unknown> {
    this.posted++;
    return (this.chain = this.chain.then(() => send(this.page, msg)).catch(() => undefined));
  }

  onPosted(raw: unknown): void {
    this.fromWebview.push(raw as WebviewToExtensionMessage);
    if ((raw as { type?: unknown }).type === 'ready') this.controller.reset(); // as MonitorManager does
    void this.controller.onMessage(raw);
  }

  /** The messages posted so far have reached the page and it has drawn. */
  async settle(page: Page = this.page): Promise<void> {
    await this.chain;
    await frames(page, 2);
  }
}

export { until } from '../helpers/until';

/**
 * A page showing one recorded run: the real MonitorController with a fake backend that answers
 * listRuns with `summary` and getRunHistory with the run's events (any other request fails naming it).
 * `settle()` waits for every message posted so far to reach the page.
 */
export async function openRecordedRun(
  browser: Browser,
  origin: string,
  theme: TestTheme,
  events: RunEvent[],
  summary: RunSummary,
  growthMethods: string[] = [],
): Promise<{ page: Page; problems: PageProblems; settle(): Promise<void> }> {
  const runId = events[0].runId;
  let chain: Promise<unknown> = Promise.resolve();
  let page!: Page;
  const host: MonitorHost = {
    post: (msg) => (chain = chain.then(() => postToPage(page, msg)).catch(() => undefined)),
    request: async <M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]> => {
      if (method === 'growthLab/listRuns') return [summary] as RequestTypes[M][1];
      if (method === 'growthLab/getRunHistory' && (params as { runId: string }).runId === runId)
        return historyPage(events, params) as RequestTypes[M][1];
      throw new Error(`unexpected request ${method}`);
    },
    startExperiment: async () => undefined,
    growthMethods: () => growthMethods,
    activeRunId: () => undefined,
    notify: () => undefined,
    log: () => undefined,
    errorText: (err) => String((err as Error)?.message ?? err),
  };
  const controller = new MonitorController(host, runId);
  const opened = await openPage(browser, origin, theme, (m) => {
    if ((m as { type?: unknown }).type === 'ready') controller.reset();
    void controller.onMessage(m);
  });
  page = opened.page;
  await page.goto(`${origin}/`);
  return {
    page,
    problems: opened.problems,
    settle: async () => {
      await chain;
      await frames(page, 2);
    },
  };
}

/**
 * Every browser test's setup: results folder, the bundle built, the page server and Chromium up.
 * When a part fails, what was already started is closed before the error is thrown (the test file's
 * `after` hook gets nothing to stop, and a listening server would keep the test process alive).
 */
export async function startBrowser(): Promise<{ server: Served; browser: Browser }> {
  fs.mkdirSync(RESULTS, { recursive: true });
  if (!fs.existsSync(CHROMIUM)) throw new Error(missingChromium());
  await buildWebview();
  const server = await serve();
  try {
    return { server, browser: await launch() };
  } catch (e) {
    await server.close();
    throw e;
  }
}

/** And its teardown (either may be missing when the setup failed); the server closes even when the browser's close fails. */
export async function stopBrowser(browser: Browser | undefined, server: Served | undefined): Promise<void> {
  try {
    await browser?.close();
  } finally {
    await server?.close();
  }
}
