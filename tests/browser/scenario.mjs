// Drives Debian's Chromium through playwright-core over every dashboard page against a real devhost.
// Input: environment (DASH_URL, FUNCTION_KEY, ADMIN_KEY, RUN_OK, RUN_WAITING, RUN_REJECTED, RUN_CRASH,
// OUT_DIR).
// Output: OUT_DIR/results.json {checks: {name: {ok, detail}}, console_errors: [...]} and one
// screenshot per page in OUT_DIR. Each check records its outcome and the scenario carries on, so one
// failure does not hide the others; the Python test asserts on the results.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(join(process.cwd(), '.tools/browser/package.json'));
const { chromium } = require('playwright-core');

const env = process.env;
const OUT = env.OUT_DIR;
mkdirSync(OUT, { recursive: true });
const checks = {};
const consoleErrors = [];
let expected401 = false;

async function check(name, fn) {
  const began = Date.now();
  try {
    const detail = await fn();
    checks[name] = { ok: true, detail: detail ?? null, ms: Date.now() - began };
  } catch (err) {
    checks[name] = { ok: false, detail: String(err && err.stack || err).slice(0, 2000), ms: Date.now() - began };
  }
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
const page = await context.newPage();
page.setDefaultTimeout(20000);
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const text = msg.text();
  if (expected401 && text.includes('401')) return; // the refused approval this scenario provokes
  consoleErrors.push({ text, url: msg.location().url });
});
page.on('pageerror', (err) => consoleErrors.push({ text: String(err), url: 'pageerror' }));
page.on('dialog', (d) => d.accept());

const base = env.DASH_URL;
const shot = (name) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
const open = async (hash) => {
  await page.evaluate((h) => { location.hash = h; }, hash);
};
const openRun = async (runId) => {
  await open(`#/run/${encodeURIComponent(runId)}`);
  await page.waitForFunction((id) => document.querySelector('h1')?.textContent.includes(id), runId);
};

await check('runs_page', async () => {
  await page.goto(`${base}/api/dashboard?code=${encodeURIComponent(env.FUNCTION_KEY)}`);
  await page.waitForSelector('#runs tbody tr[data-run]');
  const ids = await page.$$eval('#runs tbody tr[data-run]', (rows) => rows.map((r) => r.dataset.run));
  for (const id of [env.RUN_OK, env.RUN_WAITING, env.RUN_REJECTED]) {
    if (!ids.includes(id)) throw new Error(`run ${id} not listed: ${ids}`);
  }
  if (page.url().includes('code=')) throw new Error(`the key stayed in the address bar: ${page.url()}`);
  await shot('runs');
  return { rows: ids.length };
});

await check('runs_filter', async () => {
  await page.selectOption('#filters select[name=status]', 'GateRejected');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#runs tbody tr[data-run]')];
    return document.querySelector('#filters select[name=status]')?.value === 'GateRejected' && rows.length > 0 &&
      rows.every((r) => r.textContent.includes('GateRejected'));
  });
  const ids = await page.$$eval('#runs tbody tr[data-run]', (rows) => rows.map((r) => r.dataset.run));
  if (!ids.includes(env.RUN_REJECTED) || ids.includes(env.RUN_OK)) throw new Error(`status filter shows ${ids}`);
  await page.selectOption('#filters select[name=status]', '');
  await page.selectOption('#filters select[name=pipeline]', 'dash-approve');
  await page.waitForFunction(() => document.querySelector('#filters select[name=pipeline]')?.value === 'dash-approve' &&
    document.querySelector('#filters select[name=status]')?.value === '');
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('#runs tbody tr[data-run]')];
    return rows.length > 0 && rows.every((r) => r.dataset.run.startsWith('dash-approve')) && rows.some((r) => r.dataset.run === id);
  }, env.RUN_WAITING);
  await shot('runs-filtered');
  return { gate_rejected: ids };
});

await check('run_timeline', async () => {
  await openRun(env.RUN_OK);
  await page.waitForSelector('#timeline g.row[data-kind=job]');
  const kinds = await page.$$eval('#timeline g.row', (rows) => rows.map((r) => `${r.dataset.kind}:${r.dataset.name}:${r.dataset.status}`));
  const need = ['job:succeeded', 'sub-orchestration:training_job', 'step:train', 'activity:submit_training_job', 'timer:durable timer'];
  for (const n of need) if (!kinds.some((k) => k.startsWith(n))) throw new Error(`no ${n} on the timeline: ${kinds.join(', ')}`);
  await page.waitForSelector('#gates tbody tr');
  await shot('run');
  return { rows: kinds.length };
});

await check('run_event_detail', async () => {
  await page.click('#timeline g.row[data-kind=activity][data-name=evaluate_model] [data-event]');
  await page.waitForSelector('#event-detail');
  const text = await page.textContent('#event-detail');
  if (!text.includes('TaskCompleted') || !text.includes('Result')) throw new Error(`event detail: ${text.slice(0, 300)}`);
  await page.click('#load-events');
  await page.waitForSelector('#history tbody tr');
  return { chars: text.length };
});

await check('run_failed_reason', async () => {
  await openRun(env.RUN_REJECTED);
  await page.waitForSelector('#why');
  const why = await page.textContent('#why');
  if (!why.includes('accuracy')) throw new Error(`reason shown: ${why}`);
  const gate = await page.textContent('#gates');
  if (!gate.includes('0.9999')) throw new Error(`gate numbers missing: ${gate}`);
  await page.click('#show-quarantine');
  await page.waitForSelector('#quarantine-rows tbody tr');
  const quarantined = await page.$$eval('#quarantine-rows tbody tr', (rows) => rows.map((r) => r.textContent));
  if (quarantined.length !== 14 || !quarantined.every((t) => t.includes('mean radius'))) {
    throw new Error(`quarantined rows shown: ${quarantined.length}: ${quarantined.slice(0, 3)}`);
  }
  await page.waitForSelector('#timeline g.row');
  await shot('run-rejected');
  return { why };
});

await check('run_failed_error', async () => {
  await openRun(env.RUN_CRASH);
  await page.waitForSelector('#why.error');
  const why = await page.textContent('#why');
  if (!why.includes('Error') || !why.includes('n_estimators') || !why.includes('(step train)')) throw new Error(`error shown: ${why}`);
  await page.waitForSelector('#timeline g.row[data-kind=job][data-status=failed]');
  await page.waitForSelector('#timeline g.row[data-kind=step][data-name=train][data-status=Failed]');
  await shot('run-failed');
  return { why };
});

await check('approve_from_page', async () => {
  await openRun(env.RUN_WAITING);
  await page.waitForSelector('#approve');
  expected401 = true;
  await page.click('#approve');
  await page.waitForFunction(() => !document.getElementById('notice').hidden && document.getElementById('notice').textContent.includes('401'));
  const refused = await page.textContent('#notice');
  expected401 = false;
  await page.fill('#adminkey', env.ADMIN_KEY);
  await page.click('#keys button[type=submit]');
  await page.waitForSelector('#approve');
  await page.fill('#comment', 'looks good (browser test)');
  await page.click('#approve');
  const deadline = Date.now() + 60000;
  for (;;) {
    const status = await page.textContent('h1 .badge').catch(() => '');
    if (status === 'Succeeded') break;
    if (Date.now() > deadline) throw new Error(`run still ${status} 60 s after approving`);
    await page.waitForTimeout(700);
    await page.click('#refresh').catch(() => {});
  }
  await page.waitForSelector('#timeline g.row');
  const recorded = await page.textContent('#approval');
  if (!recorded.includes('looks good (browser test)') || !recorded.includes('admin key')) {
    throw new Error(`approval not shown with its comment and who: ${recorded}`);
  }
  await shot('run-approved');
  return { refused };
});

await check('models_page', async () => {
  await open('#/models');
  await page.waitForSelector('.model[data-model="dash-bc"] .lineage a');
  const href = await page.getAttribute('.model[data-model="dash-bc"] .lineage a', 'href');
  if (!href.includes(encodeURIComponent(env.RUN_OK)) && !href.includes('dash-bc')) throw new Error(`lineage links ${href}`);
  const text = await page.textContent('.model[data-model="dash-bc"]');
  if (!text.includes('production')) throw new Error('no production alias shown');
  if (!text.includes('No rollout recorded for production') && !text.includes('Rollout (production)')) {
    throw new Error('no rollout state shown');
  }
  // The drift check seeded by dashboard_seed gives the card its data-quality line.
  const monitoring = await page.textContent('#monitoring-dash-bc');
  if (!monitoring.includes('Data quality (window') || !monitoring.includes('out of training range')) {
    throw new Error(`no data-quality signals on the model card: ${monitoring}`);
  }
  if (!monitoring.includes('Model quality') && !monitoring.includes('No model-quality check yet')) {
    throw new Error(`no model-quality state on the model card: ${monitoring}`);
  }
  await shot('models');
  return { href };
});

await check('drift_page', async () => {
  await open('#/drift?model=dash-bc');
  await page.waitForSelector('#share svg circle');
  await page.waitForSelector('#columns tbody tr');
  const drifted = await page.$$eval('#columns tbody tr', (rows) => rows.filter((r) => r.textContent.includes('drift')).length);
  if (drifted < 5) throw new Error(`only ${drifted} drifted columns shown`);
  const quality = await page.textContent('#data-quality');
  // Every "mean"/"worst" feature x3: far outside the training range, so the rate is not 0.00%.
  if (!/out of training range\s+[0-9.]+%/.test(quality) || /out of training range\s+0(\.0+)?%/.test(quality)) {
    throw new Error(`data quality not shown with the drift check: ${quality}`);
  }
  await shot('drift');
  const [report] = await Promise.all([page.context().waitForEvent('page'), page.click('#report')]);
  await report.waitForLoadState();
  const text = await report.textContent('body');
  if (!text.includes('mean radius')) throw new Error(`the HTML report shows: ${text.slice(0, 200)}`);
  await report.screenshot({ path: join(OUT, 'drift-report.png') });
  await report.close();
  return { drifted };
});

await check('costs_page', async () => {
  await open('#/costs');
  await page.waitForSelector('#per-day svg rect');
  const runs = await page.$$eval('#per-run tbody tr', (rows) => rows.length);
  if (runs < 3) throw new Error(`only ${runs} runs priced`);
  await shot('costs');
  return { runs };
});

await check('start_run_from_page', async () => {
  await open('#/runs');
  await page.waitForSelector('#start select[name=pipeline]');
  await page.selectOption('#start select[name=pipeline]', 'dash-gates');
  await page.click('#start button[type=submit]');
  await page.waitForFunction(() => /#\/run\/dash-gates-/.test(location.hash) && document.querySelector('h1 .badge'));
  const runId = decodeURIComponent(await page.evaluate(() => location.hash.replace('#/run/', '')));
  if (runId === env.RUN_REJECTED) throw new Error('the page shows the old run, not a new one');
  // The open page follows the run by itself: it reaches a later step without a click.
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline g.row[data-kind=step]')].length >= 3, null, { timeout: 60000 });
  await shot('run-started');
  return { runId };
});

await browser.close();
writeFileSync(join(OUT, 'results.json'), JSON.stringify({ checks, console_errors: consoleErrors }, null, 2));
console.log(JSON.stringify({ checks: Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, v.ok])), console_errors: consoleErrors.length }));
