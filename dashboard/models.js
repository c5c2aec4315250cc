// Models: each model's versions with lineage dataset -> run -> version -> alias / deployment, its
// latest model-quality and data-quality signals, and a chart of a chosen metric across versions.
import { api, html, mount, badge, when, num, short } from './util.js';
import { lineChart } from './charts.js';

function lineageOf(model, v) {
  const deployments = v.deployments.map((d) => html`<span class="node" title="${d.deployment_id}">deployment ${badge(d.status)} ${d.strategy}</span>`);
  const aliases = v.aliases.map((a) => html`<span class="node"><strong>${a}</strong></span>`);
  return html`<div class="lineage">
    <span class="node mono" title="${v.dataset_version || ''}">dataset ${short(v.dataset_version, 10) || '?'}</span><span class="arrow">→</span>
    ${v.run_id ? html`<a class="node mono" href="#/run/${encodeURIComponent(v.run_id)}">run ${short(v.run_id, 40)}</a>` : html`<span class="node">run ?</span>`}<span class="arrow">→</span>
    <span class="node mono">${model} v${v.version}</span>
    ${aliases.length || deployments.length ? html`<span class="arrow">→</span>${aliases}${deployments}` : ''}</div>`;
}

// The latest rollout of the deployment alias: strategy, candidate vs production, share, checks.
function rolloutOf(m) {
  const r = m.rollout;
  if (!r) return html`<p class="muted">No rollout recorded for <strong>${m.deployment_alias}</strong> (deployed directly).</p>`;
  const share = Math.round((r.share || 0) * 100);
  const checks = (r.checks || []).slice(-5).map((c) => html`<li class="mono">${Object.entries(c)
    .filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => `${k}=${typeof v === 'number' ? num(v, 4) : v}`).join('  ')}</li>`);
  return html`<div class="rollout" id="rollout-${m.name}"><div class="facts">
      <div><span>Rollout (${m.deployment_alias})</span>${badge(r.status)} ${r.strategy}</div>
      <div><span>Candidate / production</span>v${r.candidate} / ${r.production ? `v${r.production}` : '-'}</div>
      <div><span>Candidate share (step ${r.step} of ${r.steps})</span><div class="bar-cell"><div style="width:${share}%"></div></div>${share}%</div>
      <div><span>Started / ended (UTC)</span>${when(r.started_at)} / ${when(r.ended_at) || '-'}</div></div>
    ${r.reason ? html`<p>${r.reason}</p>` : ''}${checks.length ? html`<p class="muted">Bake checks (newest last):</p><ul class="muted">${checks}</ul>` : ''}</div>`;
}

const pct = (v) => (typeof v === 'number' ? `${num(v * 100, 2)}%` : 'n/a');

// The latest model-quality check (labeled window vs holdout, label-free estimate beside it) and
// the latest drift window's data quality.
function monitoringOf(m) {
  const q = m.monitoring?.quality;
  const d = m.monitoring?.data_quality;
  const est = q?.estimate?.metrics || {};
  const estRows = Object.entries(est).map(([name, e]) => html`<li><strong>${name}</strong> estimated ${num(e.estimated, 4)}
      ${typeof e.observed === 'number' ? html`(on labeled rows ${num(e.estimated_labeled, 4)} vs observed ${num(e.observed, 4)}: est − obs ${num(e.difference, 4)})` : html`<span class="muted">(no labels yet)</span>`}</li>`);
  const quality = q ? html`<div><span class="label">Model quality (window ${q.window}, v${q.version})</span>${badge(q.status === 'degraded' ? 'failed' : q.status === 'ok' ? 'ok' : q.status)} ${q.status}
      <span class="muted">${q.labeled} labeled of ${q.rows} predictions</span></div>
      <p>${q.decision?.reason || ''}${q.retrain && q.retrain !== 'not_needed' ? html` Retraining: <strong>${q.retrain}</strong>.` : ''}</p>
      ${estRows.length ? html`<p class="muted">Label-free estimate (CBPE):</p><ul>${estRows}</ul>` : ''}`
    : html`<p class="muted">No model-quality check yet (it needs feedback: POST /api/models/${m.name}/feedback).</p>`;
  const data = d ? html`<div><span class="label">Data quality (window ${d.window}, ${d.rows} rows)</span>
      nulls ${pct(d.null_rate)} · out of training range ${pct(d.out_of_range_rate)} · unseen categories ${pct(d.unseen_category_rate)} · type errors ${pct(d.type_error_rate)}</div>`
    : html`<p class="muted">No data-quality signals yet (they come with the drift check).</p>`;
  return html`<div class="monitoring" id="monitoring-${m.name}">${quality}${data}</div>`;
}

function card(m, metric) {
  const versions = [...m.versions].reverse();
  const names = [...new Set(m.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  const chosen = names.includes(metric) ? metric : names.includes('auc') ? 'auc' : names[0];
  const chart = chosen && versions.length ? lineChart({
    title: `${m.name} ${chosen} per version`, width: 560, height: 180,
    points: versions.map((v) => ({ label: `v${v.version}`, y: v.metrics[chosen] ?? 0, mark: v.aliases.length > 0 })),
  }) : '';
  const rows = m.versions.map((v) => html`<tr><td class="mono">v${v.version}</td><td>${v.aliases.map((a) => html`<span class="badge s-Succeeded">${a}</span> `)}</td>
      <td>${lineageOf(m.name, v)}</td><td class="num">${num(v.metrics[chosen], 4)}</td><td>${when(v.registered_at)}</td></tr>`);
  const aliasList = Object.entries(m.aliases).map(([a, ver]) => html`<span class="node"><strong>${a}</strong> → v${ver}</span> `);
  return html`<div class="card model" data-model="${m.name}"><h2>${m.name}</h2>
    <div class="lineage">Aliases: ${aliasList.length ? aliasList : html`<span class="muted">none</span>`}</div>
    ${rolloutOf(m)}
    ${monitoringOf(m)}
    <div style="margin:8px 0"><label class="muted">Metric <select class="metric">${names.map((n) => html`<option ${n === chosen ? 'selected' : ''}>${n}</option>`)}</select></label>
      <span class="muted">(red points: a version behind an alias)</span></div>${chart}
    <table><thead><tr><th>Version</th><th>Aliases</th><th>Lineage: dataset → run → model → alias / deployment</th><th class="num">${chosen}</th><th>Registered (UTC)</th></tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

export async function modelsPage(main, _arg, params, current) {
  const data = await api('/dashboard/models');
  if (!current()) return;
  const only = params.get('name');
  const models = data.models.filter((m) => !only || m.name === only);
  const draw = (metric) => mount(main, html`<h1>Models</h1>
    ${only ? html`<p><a href="#/models">all models</a></p>` : ''}
    ${models.length ? models.map((m) => card(m, metric)) : html`<p class="muted">No registered models yet.</p>`}`);
  const wire = () => main.querySelectorAll('select.metric').forEach((s) => s.addEventListener('change', () => { draw(s.value); wire(); }));
  draw(params.get('metric'));
  wire();
}
