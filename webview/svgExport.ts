/**
 * A chart as an SVG document, built from what the chart drew (pure: unit-tested without a browser).
 * Vector all the way: axes, ticks, grid, one path per line, grow markers, a title and the legend;
 * no raster inside. Coordinates are the chart's own pixels (the caller maps values with the chart's
 * scales), shifted down by the header that holds the title and the legend.
 */

export interface SvgLine {
  label: string;
  color: string;
  width: number;
  /** 0..1; the faint raw line under a smoothed one is drawn at 0.25. */
  opacity?: number;
  /** Pixel coordinates in the chart's frame; a non-finite point breaks the line. */
  points: readonly (readonly [number, number])[];
  /** Radius of a dot at every point (sparse series), 0 or absent: none. */
  dots?: number;
  /** Listed in the legend (the faint raw lines are not). */
  legend: boolean;
}

export interface SvgChart {
  width: number;
  height: number;
  title: string;
  area: { left: number; right: number; top: number; bottom: number };
  colors: { background: string; foreground: string; muted: string; grid: string };
  font: { family: string; size: number };
  xTitle: string;
  yTitle: string;
  xTicks: readonly { px: number; label: string }[];
  yTicks: readonly { py: number; label: string }[];
  lines: readonly SvgLine[];
  markers: readonly { px: number; color: string; label: string }[];
}

/** Height of the header (title row and legend row) above the chart. */
export const SVG_HEADER = 44;

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A coordinate with at most one decimal. */
export function c(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** "M x y L x y ..." with a new M after every non-finite point. */
export function linePath(points: readonly (readonly [number, number])[], dy = 0): string {
  const parts: string[] = [];
  let pen = false;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? 'L' : 'M'}${c(x)} ${c(y + dy)}`);
    pen = true;
  }
  return parts.join(' ');
}

export function chartSvg(ch: SvgChart): string {
  const H = SVG_HEADER;
  const { left, right, top, bottom } = ch.area;
  const col = ch.colors;
  const fs = ch.font.size;
  const out: string[] = [];
  const attr = (s: string) => escapeXml(s);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${c(ch.width)}" height="${c(ch.height + H)}" viewBox="0 0 ${c(ch.width)} ${c(ch.height + H)}" font-family="${attr(ch.font.family)}" font-size="${fs}">`,
  );
  out.push(`<title>${escapeXml(ch.title)}</title>`);
  out.push(`<rect width="100%" height="100%" fill="${attr(col.background)}"/>`);
  out.push(`<text x="${c(left)}" y="16" fill="${attr(col.foreground)}" font-weight="600">${escapeXml(ch.title)}</text>`);
  // Legend: a short line in the series' colour, then its label.
  let lx = left;
  const legend = ch.lines.filter((l) => l.legend);
  out.push('<g class="legend">');
  for (const l of legend) {
    out.push(`<line x1="${c(lx)}" y1="34" x2="${c(lx + 16)}" y2="34" stroke="${attr(l.color)}" stroke-width="2"/>`);
    out.push(`<text x="${c(lx + 21)}" y="${c(34 + fs * 0.35)}" fill="${attr(col.foreground)}">${escapeXml(l.label)}</text>`);
    lx += 21 + Math.ceil(l.label.length * fs * 0.6) + 16;
  }
  out.push('</g>');
  const T = top + H,
    B = bottom + H;
  // Grid and ticks.
  out.push(`<g class="grid" stroke="${attr(col.grid)}" stroke-width="1">`);
  for (const t of ch.yTicks) out.push(`<line x1="${c(left)}" y1="${c(t.py + H)}" x2="${c(right)}" y2="${c(t.py + H)}"/>`);
  for (const t of ch.xTicks) out.push(`<line x1="${c(t.px)}" y1="${c(T)}" x2="${c(t.px)}" y2="${c(B)}"/>`);
  out.push(`<rect x="${c(left)}" y="${c(T)}" width="${c(right - left)}" height="${c(B - T)}" fill="none"/>`);
  out.push('</g>');
  out.push(`<g class="ticks" fill="${attr(col.foreground)}">`);
  for (const t of ch.yTicks)
    out.push(`<text x="${c(left - 6)}" y="${c(t.py + H + fs * 0.35)}" text-anchor="end">${escapeXml(t.label)}</text>`);
  for (const t of ch.xTicks) out.push(`<text x="${c(t.px)}" y="${c(B + fs + 4)}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  out.push('</g>');
  out.push(
    `<text x="${c((left + right) / 2)}" y="${c(ch.height + H - 4)}" text-anchor="middle" fill="${attr(col.muted)}">${escapeXml(ch.xTitle)}</text>`,
  );
  out.push(
    `<text transform="translate(${c(fs)} ${c((T + B) / 2)}) rotate(-90)" text-anchor="middle" fill="${attr(col.muted)}">${escapeXml(ch.yTitle)}</text>`,
  );
  // Lines, clipped to the plot area; the faint ones first (beneath).
  out.push(`<clipPath id="plot"><rect x="${c(left)}" y="${c(T)}" width="${c(right - left)}" height="${c(B - T)}"/></clipPath>`);
  out.push('<g class="lines" clip-path="url(#plot)" fill="none" stroke-linejoin="round">');
  const ordered = [...ch.lines.filter((l) => !l.legend), ...ch.lines.filter((l) => l.legend)];
  for (const l of ordered) {
    const d = linePath(l.points, H);
    const op = l.opacity !== undefined && l.opacity < 1 ? ` stroke-opacity="${l.opacity}"` : '';
    if (d) out.push(`<path d="${d}" stroke="${attr(l.color)}" stroke-width="${l.width}"${op}><title>${escapeXml(l.label)}</title></path>`);
    if (l.dots)
      for (const [x, y] of l.points)
        if (Number.isFinite(x) && Number.isFinite(y))
          out.push(`<circle cx="${c(x)}" cy="${c(y + H)}" r="${l.dots}" fill="${attr(l.color)}"/>`);
  }
  out.push('</g>');
  out.push('<g class="markers" stroke-width="1.5" stroke-dasharray="5 3">');
  for (const m of ch.markers)
    out.push(
      `<line x1="${c(m.px)}" y1="${c(T)}" x2="${c(m.px)}" y2="${c(B)}" stroke="${attr(m.color)}"><title>${escapeXml(m.label)}</title></line>`,
    );
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
