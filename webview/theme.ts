/**
 * VS Code theme colours for what CSS cannot reach (chart.js draws on canvases): read from the CSS
 * variables VS Code puts on the webview's <html>, re-read when the theme changes.
 */

export interface ThemeColors {
  kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  fontFamily: string;
  fontSize: number;
  blue: string;
  orange: string;
  green: string;
  red: string;
  purple: string;
  yellow: string;
  contrastBorder?: string;
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

export function themeKind(body: HTMLElement = document.body): ThemeColors['kind'] {
  const c = body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

export function readTheme(): ThemeColors {
  const style = getComputedStyle(document.documentElement);
  const body = getComputedStyle(document.body);
  const kind = themeKind();
  const hc = kind === 'high-contrast' || kind === 'high-contrast-light';
  // No colour of our own: every fallback is another VS Code variable or what VS Code's own stylesheet gave <body>.
  const foreground = cssVar(style, '--vscode-foreground', body.color);
  const contrastBorder = cssVar(style, '--vscode-contrastBorder', '') || undefined;
  const chart = (name: string): string => cssVar(style, `--vscode-charts-${name}`, cssVar(style, '--vscode-charts-foreground', foreground));
  return {
    kind,
    foreground,
    muted: cssVar(style, '--vscode-descriptionForeground', foreground),
    // High contrast: grid lines in the theme's contrast border colour, unblended.
    grid: hc ? (contrastBorder ?? foreground) : withAlpha(cssVar(style, '--vscode-charts-lines', foreground), 0.18),
    background: cssVar(style, '--vscode-editor-background', body.backgroundColor),
    fontFamily: cssVar(style, '--vscode-font-family', body.fontFamily || 'sans-serif'),
    fontSize: parseFloat(cssVar(style, '--vscode-font-size', '13')) || 13,
    blue: chart('blue'),
    orange: chart('orange'),
    green: chart('green'),
    red: chart('red'),
    purple: chart('purple'),
    yellow: chart('yellow'),
    contrastBorder,
  };
}

/** `color` (#rgb, #rrggbb, #rrggbbaa or rgb()) with its alpha multiplied by `alpha`. */
export function withAlpha(color: string, alpha: number): string {
  const c = color.trim();
  const hex = /^#([0-9a-f]{3,8})$/i.exec(c);
  if (hex) {
    let h = hex[1];
    if (h.length === 3 || h.length === 4) h = [...h].map((ch) => ch + ch).join('');
    const r = parseInt(h.slice(0, 2), 16),
      g = parseInt(h.slice(2, 4), 16),
      b = parseInt(h.slice(4, 6), 16);
    const a = h.length === 8 ? parseInt(h.slice(6, 8), 16) / 255 : 1;
    return `rgba(${r}, ${g}, ${b}, ${+(a * alpha).toFixed(3)})`;
  }
  const rgb = /^rgba?\(([^)]+)\)$/i.exec(c);
  if (rgb) {
    const [r, g, b, a = '1'] = rgb[1].split(/[\s,/]+/).filter(Boolean);
    return `rgba(${r}, ${g}, ${b}, ${+(parseFloat(a) * alpha).toFixed(3)})`;
  }
  return c;
}

/** Calls `onChange` when VS Code switches theme (it changes <body>'s class and <html>'s style). */
export function watchTheme(onChange: () => void): () => void {
  let pending = false;
  const fire = (): void => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      onChange();
    });
  };
  const observer = new MutationObserver(fire);
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => observer.disconnect();
}
