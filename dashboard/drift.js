// Drift: per model, the drifted share of columns per check window (a chart), and one check's
// per-column view (click a point), with its HTML report on demand.
import { api, html, mount, badge, when, num, BASE, keys, notice } from './util.js';
import { lineChart } from './charts.js';

function columnsTable(check) {
  const cols = Object.entries(check.columns || {}).sort((a, b) => Number(b[1].drifted) - Number(a[1].drifted) || (b[1].statistic ?? 0) - (a[1].statistic ?? 0));
  const rows = cols.map(([name, c]) => html`<tr data-column="${name}"><td>${name}</td><td>${c.role || ''}</td><td>${badge(c.drifted ? 'drift' : 'ok')}</td>
      <td>${c.test || ''}</td><td class="num">${num(c.statistic, 4)}</td>
      <td><div class="bar-cell"><div style="width:${Math.round(Math.min(1, Math.max(0, c.statistic ?? c.distance ?? 0)) * 100)}%;background:${c.drifted ? '#c53030' : '#38a169'}"></div></div></td>
      <td class="num">${num(c.p_value ?? c.distance, 4)}</td><td class="num">${num(c.threshold, 3)}</td><td class="num">${c.n ?? ''}</td></tr>`);
  return html`<table id="columns"><thead><tr><th>Column</th><th>Role</th><th>Drift</th><th>Test</th><th class="num">Statistic</th><th></th>
      <th class="num">p-value / distance</th><th class="num">Threshold</th><th class="num">Rows</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const pct = (v) => (typeof v === 'number' ? `${num(v * 100, 2)}%` : 'n/a');

// The window's data-quality rates (null, out of training range, unseen categories, type errors).
function dataQuality(q) {
  if (!q || q.rows === undefined) return '';
  const cols = Object.entries(q.out_of_range_columns || {}).slice(0, 8).map(([c, n]) => `${c} ${n}`).join(', ');
  return html`<p id="data-quality">Data quality: nulls <strong>${pct(q.null_rate)}</strong>, out of training range
    <strong>${pct(q.out_of_range_rate)}</strong>${cols ? html` <span class="muted">(${cols})</span>` : ''}, unseen categories
    <strong>${pct(q.unseen_category_rate)}</strong>, type errors <strong>${pct(q.type_error_rate)}</strong>.</p>`;
}

async function openReport(model, window) {
  const url = new URL(`${BASE}/reports/drift/${encodeURIComponent(model)}`, location.origin);
  url.searchParams.set('window', window);
  url.searchParams.set('format', 'html');
  const res = await fetch(url, { headers: { 'x-functions-key': keys.function } });
  if (!res.ok) { notice(`Report not available: ${res.status}`); return; }
  const blob = new Blob([await res.text()], { type: 'text/html' });
  window_open(URL.createObjectURL(blob));
}
const window_open = (u) => window.open(u, '_blank', 'noopener');

export async function driftPage(main, _arg, params, current) {
  const models = (await api('/dashboard/models')).models.map((m) => m.name);
  const model = params.get('model') || models[0];
  if (!model) { mount(main, html`<h1>Drift</h1><p class="muted">No models yet.</p>`); return; }
  const data = await api(`/drift/${encodeURIComponent(model)}`, { params: { top: 200 } });
  if (!current()) return;
  const history = [...data.history].reverse(); // oldest first on the chart
  const pick = (i) => {
    const check = history[i];
    mount(main.querySelector('#check'), check ? html`<h2>Check ${check.window} ${badge(check.status || (check.drifted ? 'drift' : 'ok'))}</h2>
      <p>${num(check.drifted_share * 100, 1)}% of columns drifted over ${check.rows ?? '?'} rows (model v${check.version || '?'}, checked ${when(check.checked_at)}).
      ${check.retrain?.status ? html`Retraining: <strong>${check.retrain.status}</strong>${check.retrain.instance_id ? html` (<a href="#/run/${encodeURIComponent(check.retrain.instance_id)}">run</a>)` : ''}.` : ''}
      ${check.report_blob ? html`<button id="report">Open HTML report</button>` : ''}</p>${dataQuality(check.data_quality)}${columnsTable(check)}` : html`<p class="muted">No drift checks yet.</p>`);
    main.querySelector('#report')?.addEventListener('click', () => openReport(model, check.window));
  };
  mount(main, html`<h1>Drift</h1>
    <div class="filters"><label>Model<select id="model">${models.map((m) => html`<option ${m === model ? 'selected' : ''}>${m}</option>`)}</select></label></div>
    <h2>Drifted share of columns per check</h2>
    <div id="share">${history.length ? lineChart({ title: 'drifted share', height: 220, yMax: 1, threshold: { y: 0.5, label: 'half the columns' },
      points: history.map((c) => ({ label: when(c.checked_at).slice(5, 16) || c.window, y: c.drifted_share, mark: c.drifted })) }) : html`<p class="muted">No checks yet.</p>`}</div>
    <p class="muted">Click a point for that check's columns.</p><div id="check"></div>`);
  main.querySelector('#model').addEventListener('change', (ev) => { location.hash = `#/drift?model=${encodeURIComponent(ev.target.value)}`; });
  main.querySelectorAll('#share circle').forEach((c) => c.addEventListener('click', () => pick(Number(c.dataset.i))));
  pick(history.length - 1);
}
