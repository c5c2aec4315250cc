// Router and keys. The first visit carries the function key as ?code=; it moves to session storage
// (gone when the tab closes) and out of the address bar; every API call then sends it as a header.
import { keys, notice, mount, html } from './util.js';
import { runsPage } from './runs.js';
import { runPage } from './run.js';
import { modelsPage } from './models.js';
import { driftPage } from './drift.js';
import { costsPage } from './costs.js';

const PAGES = { runs: runsPage, run: runPage, models: modelsPage, drift: driftPage, costs: costsPage };

function takeKeyFromUrl() {
  const url = new URL(location.href);
  const code = url.searchParams.get('code');
  if (code) {
    keys.set(code);
    url.searchParams.delete('code');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
}

// '#/run/ID?x=1' -> {name: 'run', arg: 'ID', params: URLSearchParams}
export function route() {
  const [path, query] = (location.hash.replace(/^#\/?/, '') || 'runs').split('?');
  const [name, ...rest] = path.split('/');
  return { name: PAGES[name] ? name : 'runs', arg: rest.map(decodeURIComponent).join('/'), params: new URLSearchParams(query || '') };
}

let generation = 0;
async function render() {
  const mine = ++generation;
  const { name, arg, params } = route();
  document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === name || (name === 'run' && a.dataset.page === 'runs')));
  const main = document.getElementById('page');
  notice('');
  mount(main, html`<p class="muted">Loading...</p>`);
  if (!keys.function) {
    mount(main, html`<div class="card">Enter the app's function key above (or open this page once as <span class="mono">/api/dashboard?code=KEY</span>).</div>`);
    return;
  }
  try {
    await PAGES[name](main, arg, params, () => mine === generation);
  } catch (err) {
    if (mine === generation) {
      mount(main, html`<div class="error">Could not load this page: ${err.message}</div>`);
    }
  }
}

function initKeys() {
  const form = document.getElementById('keys');
  form.fnkey.value = keys.function;
  form.adminkey.value = keys.admin;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    keys.set(form.fnkey.value.trim(), form.adminkey.value.trim());
    notice('Keys kept for this browser tab.', true);
    render();
  });
}

takeKeyFromUrl();
initKeys();
window.addEventListener('hashchange', render);
render();
