// Small SVG charts drawn here (nothing fetched from the internet): lines with a threshold, stacked bars
// with a budget line. Each returns an html`` fragment sized to `width` x `height`.
import { html, raw, esc } from './util.js';

export const PALETTE = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#319795', '#b7791f', '#4a5568'];
const PAD = { l: 52, r: 16, t: 14, b: 34 };

function ticks(max, n = 4) {
  const step = max / n;
  return Array.from({ length: n + 1 }, (_, i) => i * step);
}
const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));

function axes(width, height, yMax, labels, x) {
  const h = height - PAD.t - PAD.b;
  const grid = ticks(yMax).map((v) => {
    const y = PAD.t + h - (v / yMax) * h;
    return `<line x1="${PAD.l}" x2="${width - PAD.r}" y1="${y}" y2="${y}" stroke="#eef0f4"/>` +
      `<text x="${PAD.l - 6}" y="${y + 4}" text-anchor="end">${esc(fmt(v))}</text>`;
  });
  const every = Math.max(1, Math.ceil(labels.length / 10));
  const anchor = (i) => (labels.length > 1 && i === 0 ? 'start' : labels.length > 1 && i === labels.length - 1 ? 'end' : 'middle');
  const xl = labels.map((l, i) => (i % every && i !== labels.length - 1 ? '' :
    `<text x="${x(i)}" y="${height - PAD.b + 16}" text-anchor="${anchor(i)}">${esc(l)}</text>`));
  return grid.join('') + xl.join('');
}

// points: [{label, y, mark}] ; threshold: {y, label} drawn dashed; onPoint: data-i on circles.
export function lineChart({ points, width = 760, height = 240, yMax, threshold, title }) {
  const top = Math.max(yMax ?? 0, threshold ? threshold.y : 0, ...points.map((p) => p.y), 1e-9);
  const w = width - PAD.l - PAD.r, h = height - PAD.t - PAD.b;
  const x = (i) => PAD.l + (points.length > 1 ? (i / (points.length - 1)) * w : w / 2);
  const y = (v) => PAD.t + h - (v / top) * h;
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(i)},${y(p.y)}`).join('');
  const dots = points.map((p, i) => `<circle data-i="${i}" cx="${x(i)}" cy="${y(p.y)}" r="5" fill="${p.mark ? '#c73636' : '#2b6cb0'}">` +
    `<title>${esc(p.label)}: ${esc(fmt(p.y))}</title></circle>`).join('');
  const line = threshold ? `<line x1="${PAD.l}" x2="${width - PAD.r}" y1="${y(threshold.y)}" y2="${y(threshold.y)}" stroke="#c73636" stroke-dasharray="5 4"/>` +
    `<text x="${width - PAD.r}" y="${y(threshold.y) - 4}" text-anchor="end" style="fill:#c73636">${esc(threshold.label)}</text>` : '';
  return html`<svg class="chart" role="img" aria-label="${title || 'chart'}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
    ${raw(axes(width, height, top, points.map((p) => p.label), x))}
    <path d="${path}" fill="none" stroke="#2b6cb0" stroke-width="2"/>${raw(line)}${raw(dots)}</svg>`;
}

// categories: x labels; series: [{name, values[]}] stacked; line: {y, label} (e.g. a budget).
export function stackedBars({ categories, series, width = 760, height = 260, line, title }) {
  const totals = categories.map((_, i) => series.reduce((s, ser) => s + (ser.values[i] || 0), 0));
  const top = Math.max(...totals, line ? line.y : 0, 1e-9) * 1.1;
  const w = width - PAD.l - PAD.r, h = height - PAD.t - PAD.b;
  const band = w / Math.max(categories.length, 1);
  const x = (i) => PAD.l + band * i + band / 2;
  const y = (v) => PAD.t + h - (v / top) * h;
  let bars = '';
  categories.forEach((c, i) => {
    let base = 0;
    series.forEach((ser, k) => {
      const v = ser.values[i] || 0;
      if (!v) return;
      const y0 = y(base), y1 = y(base + v);
      const bw = Math.min(band * 0.7, 80);
      bars += `<rect x="${x(i) - bw / 2}" y="${y1}" width="${bw}" height="${Math.max(y0 - y1, 1)}" fill="${PALETTE[k % PALETTE.length]}">` +
        `<title>${esc(c)} ${esc(ser.name)}: $${v.toFixed(4)}</title></rect>`;
      base += v;
    });
  });
  const budget = line ? `<line x1="${PAD.l}" x2="${width - PAD.r}" y1="${y(line.y)}" y2="${y(line.y)}" stroke="#c73636" stroke-width="2" stroke-dasharray="6 4"/>` +
    `<text x="${width - PAD.r}" y="${y(line.y) - 5}" text-anchor="end" style="fill:#c73636">${esc(line.label)}</text>` : '';
  const legend = series.map((s, k) => html`<span><i style="background:${PALETTE[k % PALETTE.length]}"></i>${s.name}</span>`);
  return html`<div class="legend">${legend}${line ? html`<span><i style="background:#c73636;height:2px"></i>${line.label}</span>` : ''}</div>
    <svg class="chart" role="img" aria-label="${title || 'chart'}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
    ${raw(axes(width, height, top, categories, x))}${raw(bars)}${raw(budget)}</svg>`;
}
