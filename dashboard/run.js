// One run: what, why it ended, gates with their numbers, validation counts with the quarantined rows,
// the timeline (recorded steps + training job + every Durable history span, paged), the history
// events and any event's input/output on demand, and the approve / reject / terminate actions.
import { api, html, mount, badge, when, secs, money, num, short, notice } from './util.js';
import { Gantt, LEGEND } from './gantt.js';

const PAGE = 200;
const ENDED = ['Succeeded', 'Failed', 'DataRejected', 'GateRejected', 'ApprovalRejected', 'Cancelled', 'Terminated'];

function gatesTable(gates) {
  if (!gates.length) return html`<p class="muted">No gate decisions (the run did not reach evaluation).</p>`;
  const rows = gates.map((g) => {
    const numbers = Object.entries(g).filter(([k]) => !['gate', 'status', 'reason', 'metric'].includes(k))
      .map(([k, v]) => html`<span class="mono">${k}=${typeof v === 'number' ? num(v, 6) : v === null ? '-' : JSON.stringify(v)}</span> `);
    return html`<tr><td>${g.gate}</td><td>${badge(g.status)}</td><td>${g.metric || ''}</td><td>${numbers}</td><td>${g.reason}</td></tr>`;
  });
  return html`<table id="gates"><thead><tr><th>Gate</th><th>Decision</th><th>Metric</th><th>Numbers</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function validation(run) {
  const v = run.details?.validation || run.steps.find((s) => s.name === 'validate')?.detail;
  if (!v || typeof v !== 'object') return html`<p class="muted">Not validated yet.</p>`;
  const reasons = (v.reasons || []).map((r) => html`<li>${r}</li>`);
  return html`<div class="facts" id="validation">
      <div><span>Rows read</span>${v.rows_read}</div><div><span>Accepted</span>${v.rows_accepted}</div>
      <div><span>Quarantined</span>${v.rows_quarantined}
        ${v.rows_quarantined ? html` <a href="#" id="show-quarantine">show quarantined rows</a>` : ''}</div>
      <div><span>Rejected</span>${String(v.rejected)}</div></div>
    ${reasons.length ? html`<ul>${reasons}</ul>` : ''}<div id="quarantine"></div>`;
}

async function showQuarantine(runId, el, offset = 0) {
  const page = await api(`/runs/${encodeURIComponent(runId)}/quarantine`, { params: { offset, limit: 50 } });
  const rows = page.rows || page.items || [];
  const cols = rows.length ? Object.keys(rows[0]).slice(0, 10) : [];
  mount(el, html`<h3>Quarantined rows ${offset + 1}-${offset + rows.length} of ${page.total ?? rows.length}
      <span class="muted mono">(${page.blob || ''})</span></h3>
    <table id="quarantine-rows"><thead><tr>${cols.map((c) => html`<th>${c}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${cols.map((c) => html`<td>${typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c]}</td>`)}</tr>`)}</tbody></table>
    <div class="pager"><button id="q-prev" ${offset ? '' : 'disabled'}>Previous</button>
      <button id="q-next" ${page.next_offset === null || page.next_offset === undefined ? 'disabled' : ''}>Next</button></div>`);
  el.querySelector('#q-prev').addEventListener('click', () => showQuarantine(runId, el, Math.max(0, offset - 50)));
  el.querySelector('#q-next').addEventListener('click', () => showQuarantine(runId, el, page.next_offset));
}

function facts(run) {
  const took = run.started_at ? ((run.finished_at ? new Date(run.finished_at) : new Date()) - new Date(run.started_at)) / 1000 : null;
  const metrics = Object.entries(run.metrics || {}).map(([k, v]) => html`<div><span>${k}</span>${num(v, 4)}</div>`);
  return html`<div class="card facts">
      <div><span>Pipeline</span>${run.pipeline}</div><div><span>Trigger</span>${run.trigger}</div>
      <div><span>Started (UTC)</span>${when(run.started_at)}</div><div><span>Finished (UTC)</span>${when(run.finished_at) || '-'}</div>
      <div><span>Took</span>${secs(took)}</div><div><span>Cost</span>${run.cost ? money(run.cost) : html`<a href="#/costs">see costs</a>`}</div>
      <div><span>Dataset version</span><span class="mono" title="${run.dataset_version || ''}">${short(run.dataset_version, 16) || '-'}</span></div>
      <div><span>Model version</span>${run.model_version ? html`<a href="#/models?name=${encodeURIComponent(run.pipeline)}">${run.pipeline} v${run.model_version}</a>` : '-'}</div>
    </div>${metrics.length ? html`<h2>Holdout metrics</h2><div class="card facts" id="metrics">${metrics}</div>` : ''}`;
}

function approval(run) {
  const waiting = run.details?.awaiting_approval;
  const decided = run.details?.approval;
  const ignored = run.details?.ignored_approval_events || [];
  if (!waiting && !decided) return '';
  const deadline = waiting ? new Date(new Date(waiting.since).getTime() + waiting.timeout_hours * 3600e3).toISOString() : null;
  return html`<h2>Approval</h2><div class="card facts" id="approval">
    ${waiting ? html`<div><span>Waiting since (UTC)</span>${when(waiting.since)}</div><div><span>Times out (UTC)</span>${when(deadline)}</div>` : ''}
    ${decided ? html`<div><span>Decision</span>${badge(decided.decision === 'approve' ? 'passed' : 'failed')} ${decided.decision}</div>
      <div><span>By</span>${decided.actor}</div><div><span>At (UTC)</span>${when(decided.at)}</div>
      <div><span>Comment</span>${decided.comment || '-'}</div>` : ''}
    ${ignored.length ? html`<div><span>Ignored events</span>${ignored.length} (not recorded through the approval API)</div>` : ''}</div>`;
}

function actions(run) {
  const buttons = [];
  if (run.status === 'AwaitingApproval') {
    buttons.push(html`<input id="comment" placeholder="comment (optional)" size="30">
      <button class="primary" id="approve">Approve</button><button class="danger" id="reject">Reject</button>`);
  }
  if (!ENDED.includes(run.status)) buttons.push(html`<button id="terminate">Terminate run</button>`);
  buttons.push(html`<button id="refresh">Refresh</button>`);
  return html`<div class="actions">${buttons}<span class="muted">Approve, reject and terminate need the admin key.</span></div>`;
}

async function decide(runId, decision, comment, rerender) {
  try {
    await api(`/runs/${encodeURIComponent(runId)}/approval`, { method: 'POST', admin: true, body: { decision, comment } });
    notice(`Decision "${decision}" recorded for ${runId}.`, true);
    rerender();
  } catch (err) {
    notice(err.status === 401 ? `401: ${decision} was refused - approving needs the admin (master) key; enter it above.` : `Could not ${decision}: ${err.message}`);
  }
}

async function terminate(runId, rerender) {
  if (!confirm(`Terminate ${runId}?`)) return;
  try {
    await api(`/runs/${encodeURIComponent(runId)}/terminate`, { method: 'POST', admin: true, body: { reason: 'terminated from the dashboard' } });
    notice(`Terminate sent to ${runId}.`, true);
    rerender();
  } catch (err) {
    notice(err.status === 401 ? '401: terminating needs the admin (master) key; enter it above.' : `Could not terminate: ${err.message}`);
  }
}

// Both first pages, requested together with the run record (not after it).
function firstPages(runId) {
  const id = encodeURIComponent(runId);
  const pages = Promise.all([
    api(`/dashboard/runs/${id}/timeline`, { params: { part: 'run', limit: PAGE } }),
    api(`/dashboard/runs/${id}/timeline`, { params: { part: 'train', limit: PAGE } }).catch(() => null),
  ]);
  pages.catch(() => {}); // reported where it is awaited
  return pages;
}

async function timeline(runId, el, detailEl, pages) {
  const id = encodeURIComponent(runId);
  const [run, train] = await pages;
  const steps = run.steps || [];
  const starts = [run.start_ms, train?.start_ms, ...steps.map((s) => s.start)].filter((x) => x);
  const ends = [run.end_ms, train?.end_ms, ...steps.map((s) => s.end)].filter((x) => x);
  const info = html`<p class="muted" id="timeline-info">${run.total_events} history events, ${run.total_spans} spans in the run's instance${train && train.runtime_status ? html`; training job instance: ${train.total_events} events, ${train.total_spans} spans` : ''}. Click a bar for its input/output.</p>
    <div class="legend">${LEGEND.map(([n, c]) => html`<span><i style="background:${c}"></i>${n}</span>`)}</div>`;
  el.insertAdjacentHTML('beforebegin', info.s);
  const show = (part, index) => eventDetail(runId, part, index, detailEl);
  const now = Date.now();
  const gantt = new Gantt(el, starts.length ? Math.min(...starts) : now, ends.length ? Math.max(...ends) : now, show);
  if (run.total_spans > PAGE) gantt.overview(run.density || {}, run.start_ms, run.end_ms);
  gantt.lane('Pipeline steps (run record)');
  gantt.add(steps, 'run');
  if (train && train.items.length) {
    gantt.lane(`Training job (${train.instance_id}: ${train.runtime_status})`);
    gantt.add(train.items, 'train');
  }
  gantt.lane(`Orchestration history (${run.instance_id}: ${run.runtime_status || "not started yet"})`);
  gantt.add(run.items, 'run');
  let next = run.next_offset;
  const more = document.createElement('button');
  const sentinel = document.createElement('div');
  const label = () => { more.textContent = next === null ? 'All spans shown' : `Load more spans (${run.total_spans - next} left)`; more.disabled = next === null; };
  let loading = false;
  const load = async () => {
    if (next === null || loading) return;
    loading = true;
    const page = await api(`/dashboard/runs/${id}/timeline`, { params: { part: 'run', offset: next, limit: PAGE } });
    gantt.add(page.items, 'run');
    next = page.next_offset;
    loading = false;
    label();
  };
  more.id = 'more-spans';
  more.addEventListener('click', load);
  label();
  el.appendChild(sentinel);
  el.after(more);
  new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) load().then(() => el.appendChild(sentinel)); }, { root: el }).observe(sentinel);
}

async function eventDetail(runId, part, index, el) {
  mount(el, html`<p class="muted">Loading event ${index}...</p>`);
  try {
    const d = await api(`/dashboard/runs/${encodeURIComponent(runId)}/history/${index}`, { params: { part } });
    const text = d.truncated ? d.text + '\n... (cut at 64,000 characters)' : JSON.stringify(d.event, null, 2);
    mount(el, html`<h3>${part === 'train' ? 'Training job' : 'Run'} event ${index}</h3><pre class="detail" id="event-detail">${text}</pre>`);
  } catch (err) {
    mount(el, html`<div class="error">${err.message}</div>`);
  }
}

async function historyTable(runId, el, detailEl, types = '', offset = 0) {
  const page = await api(`/dashboard/runs/${encodeURIComponent(runId)}/history`, { params: { part: 'run', types, offset, limit: PAGE } });
  const kinds = Object.keys(page.event_counts).sort();
  const rows = page.items.map((e) => html`<tr data-index="${e.index}"><td class="num">${e.index}</td><td>${e.type}</td><td>${e.name || ''}</td>
      <td class="mono">${when(e.at)}</td><td>${e.reason || e.status || ''}</td><td><a href="#" data-index="${e.index}">input/output</a></td></tr>`);
  mount(el, html`<div class="filters"><label>Event type<select id="types"><option value="">all (${page.total_events})</option>
      ${kinds.map((k) => html`<option value="${k}" ${k === types ? 'selected' : ''}>${k} (${page.event_counts[k]})</option>`)}</select></label>
      <span class="muted">${page.total ? offset + 1 : 0}-${offset + page.items.length} of ${page.total}</span>
      <button id="hprev" ${offset ? '' : 'disabled'}>Previous</button><button id="hnext" ${page.next_offset === null ? 'disabled' : ''}>Next</button></div>
    <table id="history"><thead><tr><th class="num">#</th><th>Event</th><th>Name</th><th>At (UTC)</th><th>Reason / status</th><th></th></tr></thead><tbody>${rows}</tbody></table>`);
  el.querySelector('#types').addEventListener('change', (ev) => historyTable(runId, el, detailEl, ev.target.value, 0));
  el.querySelector('#hprev').addEventListener('click', () => historyTable(runId, el, detailEl, types, Math.max(0, offset - PAGE)));
  el.querySelector('#hnext').addEventListener('click', () => historyTable(runId, el, detailEl, types, page.next_offset));
  el.querySelectorAll('a[data-index]').forEach((a) => a.addEventListener('click', (ev) => {
    ev.preventDefault();
    eventDetail(runId, 'run', Number(a.dataset.index), detailEl);
  }));
}

// While a run is open, look again every few seconds and redraw when its status or steps moved.
function follow(run, current, rerender) {
  const shape = (r) => `${r.status}|${r.steps.map((st) => `${st.name}:${st.status}`).join(',')}`;
  const seen = shape(run);
  const tick = async () => {
    if (!current()) return;
    try {
      const now = await api(`/runs/${encodeURIComponent(run.run_id)}`);
      if (!current()) return;
      if (shape(now) !== seen) { rerender(); return; }
    } catch { /* a failed look is retried on the next tick */ }
    setTimeout(tick, 4000);
  };
  setTimeout(tick, 4000);
}

export async function runPage(main, runId, _params, current) {
  const pages = firstPages(runId);
  const run = await api(`/runs/${encodeURIComponent(runId)}`);
  if (!current()) return;
  const rerender = () => runPage(main, runId, _params, current);
  const failed = ['Failed', 'Cancelled'].includes(run.status);
  const why = run.error || run.reason;
  mount(main, html`<h1>Run <span class="mono">${run.run_id}</span> ${badge(run.status)}</h1>
    ${why ? html`<div class="${failed || run.status.endsWith('Rejected') ? 'error' : 'reason'}" id="why"><strong>${failed ? 'Error' : 'Reason'}:</strong> ${why}${run.details?.failed_step ? html` (step ${run.details.failed_step})` : ''}</div>` : ''}
    ${actions(run)}${facts(run)}${approval(run)}
    <h2>Gate decisions</h2>${gatesTable(run.gate_decisions || [])}
    <h2>Validation</h2><div class="card">${validation(run)}</div>
    <h2>Timeline</h2><div class="gantt-wrap" id="timeline"></div>
    <div id="detail"></div>
    <h2>History events</h2><div id="events"><button id="load-events">Show history events</button></div>`);
  const detail = main.querySelector('#detail');
  main.querySelector('#refresh').addEventListener('click', rerender);
  main.querySelector('#approve')?.addEventListener('click', () => decide(run.run_id, 'approve', main.querySelector('#comment').value, rerender));
  main.querySelector('#reject')?.addEventListener('click', () => decide(run.run_id, 'reject', main.querySelector('#comment').value, rerender));
  main.querySelector('#terminate')?.addEventListener('click', () => terminate(run.run_id, rerender));
  main.querySelector('#show-quarantine')?.addEventListener('click', (ev) => { ev.preventDefault(); showQuarantine(run.run_id, main.querySelector('#quarantine')); });
  main.querySelector('#load-events').addEventListener('click', () => historyTable(run.run_id, main.querySelector('#events'), detail));
  if (!ENDED.includes(run.status)) follow(run, current, rerender);
  await timeline(run.run_id, main.querySelector('#timeline'), detail, pages).catch((err) => {
    mount(main.querySelector('#timeline'), html`<p class="error">Timeline unavailable: ${err.message}</p>`);
  });
}
