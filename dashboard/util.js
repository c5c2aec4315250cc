// Shared helpers: the API client (keys from session storage), escaping HTML templates, formatting.

// The page is served at <prefix>/dashboard, so the API lives at <prefix> (/api by default).
export const BASE = location.pathname.replace(/\/dashboard\/?$/, '');
const FN = 'mlops.functionKey';
const ADMIN = 'mlops.adminKey';

export const keys = {
  get function() { return sessionStorage.getItem(FN) || ''; },
  get admin() { return sessionStorage.getItem(ADMIN) || ''; },
  set(fn, admin) {
    if (fn !== undefined) sessionStorage.setItem(FN, fn);
    if (admin !== undefined) sessionStorage.setItem(ADMIN, admin);
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    const what = body && (body.message || body.error) ? `${body.message || body.error}` : '';
    let hint = '';
    if (status === 401) hint = ' (the key was refused: this needs a valid key of the right level)';
    super(`${status} ${what}${hint}`.trim());
    this.status = status;
    this.body = body;
  }
}

// GET/POST against the app's API with the function key (or the admin key when asked for).
export async function api(path, { method = 'GET', body, admin = false, params } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  const key = admin ? (keys.admin || keys.function) : keys.function;
  const headers = { 'x-functions-key': key };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text.slice(0, 300) }; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export class Raw { constructor(s) { this.s = s; } }
export const raw = (s) => new Raw(s);
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
function part(v) {
  if (v instanceof Raw) return v.s;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}
// Tagged template: every interpolation is escaped unless it is raw() or another html`` result.
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => { out += part(v) + strings[i + 1]; });
  return raw(out);
}
export function mount(el, content) { el.innerHTML = part(content); return el; }

export function notice(message, ok = false) {
  const el = document.getElementById('notice');
  if (!message) { el.hidden = true; return; }
  el.textContent = message;
  el.className = ok ? 'ok' : '';
  el.hidden = false;
}

export const badge = (status) => html`<span class="badge s-${String(status).replace(/[^A-Za-z]/g, '')}">${status}</span>`;
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}
export function secs(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
export const money = (x) => (x === null || x === undefined ? '' : `$${Number(x).toFixed(4)}`);
export function num(x, d = 4) {
  if (typeof x !== 'number') return x ?? '';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) < 10 ** -d ? x.toExponential(2) : x.toFixed(d); // p-values of 1e-15 are not 0
}
export const short = (s, n = 12) => (s && s.length > n ? s.slice(0, n) + '…' : s || '');
export const link = (hash, text) => html`<a href="${hash}">${text}</a>`;
