// Costs: per day stacked by model against the daily budget, per model and per run, budget alerts.
import { api, html, mount, money } from './util.js';
import { stackedBars } from './charts.js';

// A budget far above the costs would flatten every bar: then say how far instead of drawing it.
const SCALE_LIMIT = 20;

export async function costsPage(main, _arg, _params, current) {
  const data = await api('/dashboard/costs');
  if (!current()) return;
  const models = Object.keys(data.per_model).sort();
  const days = data.days.map((d) => d.day);
  const series = models.map((m) => ({ name: m, values: data.days.map((d) => d.per_model[m] || 0) }));
  const peak = Math.max(...data.days.map((d) => Object.values(d.per_model).reduce((a, b) => a + b, 0)), 0);
  const budget = data.daily_budget;
  const drawn = budget !== null && budget <= peak * SCALE_LIMIT;
  const note = budget !== null && !drawn
    ? html`<p class="muted" id="budget-note">Daily budget ${money(budget)} (sum of monthly budgets / 30) is ${Math.round(budget / Math.max(peak, 1e-9))}x the highest day, so it is not drawn to scale.</p>` : '';
  const alerts = data.alerts.map((a) => html`<li>${a.scope || ''} ${a.model || ''}: ${money(a.actual)} passed ${money(a.limit)}</li>`);
  const runs = Object.entries(data.per_run).filter(([r]) => r && r !== 'null').sort((a, b) => b[1] - a[1]).slice(0, 50)
    .map(([r, v]) => html`<tr><td><a class="mono" href="#/run/${encodeURIComponent(r)}">${r}</a></td><td class="num">${money(v)}</td></tr>`);
  mount(main, html`<h1>Costs</h1><p>Total ${money(data.total)} (estimates from the price table).</p>
    ${alerts.length ? html`<div class="error"><strong>Budget alerts</strong><ul>${alerts}</ul></div>` : ''}
    <h2>Per day, by model</h2><div id="per-day">${days.length ? stackedBars({ title: 'cost per day', categories: days, series,
      line: drawn ? { y: budget, label: `daily budget ${money(budget)}` } : null }) : html`<p class="muted">No costs yet.</p>`}</div>${note}
    <h2>Per model</h2><table id="per-model"><thead><tr><th>Model</th><th class="num">Cost</th><th class="num">Monthly budget</th></tr></thead>
      <tbody>${models.map((m) => html`<tr><td>${m}</td><td class="num">${money(data.per_model[m])}</td><td class="num">${money(data.monthly_budget[m])}</td></tr>`)}</tbody></table>
    <h2>Per run (top 50)</h2><table id="per-run"><thead><tr><th>Run</th><th class="num">Cost</th></tr></thead><tbody>${runs}</tbody></table>`);
}
