// Runs: filters (pipeline, status, trigger, time) kept in the address, one page at a time, and
// starting a run of a registered pipeline.
import { api, html, mount, badge, when, secs, short, notice } from './util.js';

const PAGE = 25;
const FILTERS = ['pipeline', 'status', 'trigger', 'since', 'until'];

function options(values, chosen) {
  return [html`<option value="">all</option>`, ...values.map((v) => html`<option ${v === chosen ? 'selected' : ''}>${v}</option>`)];
}

function go(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  location.hash = `#/runs?${q}`;
}

export async function runsPage(main, _arg, params, current) {
  const chosen = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) || '']));
  const offset = Number(params.get('offset') || 0);
  const data = await api('/dashboard/runs', { params: { ...chosen, offset, limit: PAGE } });
  if (!current()) return;
  const f = data.facets;
  const rows = data.items.map((r) => html`<tr data-run="${r.run_id}">
      <td>${badge(r.status)}</td>
      <td><a class="mono" href="#/run/${encodeURIComponent(r.run_id)}">${r.run_id}</a></td>
      <td>${r.pipeline}</td><td>${r.trigger}</td><td>${when(r.started_at)}</td>
      <td class="num">${secs(r.seconds)}</td>
      <td>${r.step ? html`<span class="muted">at ${r.step}</span> ` : ''}${r.reason}</td>
      <td class="mono">${r.model_version ? html`<a href="#/models?name=${encodeURIComponent(r.pipeline)}">v${r.model_version}</a>` : ''}</td>
    </tr>`);
  const last = offset + data.items.length;
  mount(main, html`<h1>Runs</h1>
    <form class="filters" id="filters">
      <label>Pipeline<select name="pipeline">${options(f.pipeline, chosen.pipeline)}</select></label>
      <label>Status<select name="status">${options(f.status, chosen.status)}</select></label>
      <label>Trigger<select name="trigger">${options(f.trigger, chosen.trigger)}</select></label>
      <label>Started since<input type="date" name="since" value="${chosen.since}"></label>
      <label>Started before<input type="date" name="until" value="${chosen.until}"></label>
      <button type="submit">Filter</button> <button type="button" id="clear">Clear</button>
    </form>
    <table id="runs"><thead><tr><th>Status</th><th>Run</th><th>Pipeline</th><th>Trigger</th><th>Started (UTC)</th>
      <th class="num">Took</th><th>Step / reason</th><th>Model</th></tr></thead>
      <tbody>${rows.length ? rows : html`<tr><td colspan="8" class="muted">No runs match these filters.</td></tr>`}</tbody></table>
    <div class="pager"><button id="prev" ${offset ? '' : 'disabled'}>Previous</button>
      <span class="muted">${data.total ? offset + 1 : 0}-${last} of ${data.total}</span>
      <button id="next" ${data.next_offset === null ? 'disabled' : ''}>Next</button></div>
    <h2>Start a run</h2>
    <form class="filters" id="start"><label>Pipeline (its registered spec)<select name="pipeline">${f.pipeline.map((p) => html`<option>${p}</option>`)}</select></label>
      <button type="submit" class="primary">Start run</button></form>`);
  const form = main.querySelector('#filters');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(Object.fromEntries(FILTERS.map((k) => [k, form[k].value])));
  });
  form.querySelectorAll('select').forEach((s) => s.addEventListener('change', () => form.requestSubmit()));
  main.querySelector('#clear').addEventListener('click', () => go({}));
  main.querySelector('#prev').addEventListener('click', () => go({ ...chosen, offset: Math.max(0, offset - PAGE) }));
  main.querySelector('#next').addEventListener('click', () => go({ ...chosen, offset: data.next_offset }));
  main.querySelector('#start').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = ev.target.pipeline.value;
    try {
      const started = await api(`/pipelines/${encodeURIComponent(name)}/runs`, { method: 'POST', body: {} });
      location.hash = `#/run/${encodeURIComponent(started.run_id)}`;
      notice(`Started ${started.run_id} (${short(started.spec_version, 12)})`, true);
    } catch (err) {
      notice(`Could not start a run of ${name}: ${err.message}`);
    }
  });
}
