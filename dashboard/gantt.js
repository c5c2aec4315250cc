// The run timeline: one row per span (step, activity attempt, sub-orchestration, durable timer,
// raised event, training-job state), appended block by block so a 10,000-event history renders
// page by page instead of all at once.
import { esc, secs } from './util.js';

const ROW = 18, LABEL = 300, RIGHT = 70;
const STATUS = { Succeeded: '#38a169', Failed: '#c53030', Running: '#3182ce', Cancelled: '#718096', Waiting: '#a0aec0' };
const JOB = { queued: '#a0aec0', running: '#3182ce', succeeded: '#38a169', failed: '#c53030', cancelled: '#718096' };
const KIND = { activity: '#2b6cb0', 'sub-orchestration': '#805ad5', timer: '#a0aec0', event: '#dd6b20' };

export const LEGEND = [['step', '#38a169'], ['activity', KIND.activity], ['retry', '#dd6b20'], ['failed', '#c53030'],
  ['sub-orchestration', KIND['sub-orchestration']], ['durable timer', KIND.timer], ['raised event', KIND.event],
  ['training job state', JOB.running]];

function colour(span) {
  if (span.kind === 'job') return JOB[span.status] || '#4a5568';
  if (span.status === 'Failed') return STATUS.Failed;
  if (span.kind === 'step') return STATUS[span.status] || '#4a5568';
  if (span.retry) return '#dd6b20';
  return KIND[span.kind] || '#4a5568';
}

function label(span) {
  const kind = { step: 'step', activity: '', 'sub-orchestration': 'sub-orch', timer: '', event: 'event', job: 'job' }[span.kind];
  const attempt = span.attempt > 1 ? ` #${span.attempt}` : '';
  const retry = span.retry ? ' (retry)' : '';
  return `${kind ? kind + ': ' : ''}${span.name}${attempt}${retry}`;
}

export class Gantt {
  constructor(container, start, end, onClick) {
    this.el = container;
    this.t0 = start;
    this.t1 = Math.max(end, start + 1);
    this.width = Math.max(container.clientWidth - 18, 760);
    this.onClick = onClick;
    this.rows = 0;
    this.axis();
  }

  x(ms) { return LABEL + ((ms - this.t0) / (this.t1 - this.t0)) * (this.width - LABEL - RIGHT); }

  axis() {
    const total = (this.t1 - this.t0) / 1000;
    let ticks = '';
    for (let i = 0; i <= 6; i++) {
      const ms = this.t0 + ((this.t1 - this.t0) * i) / 6;
      ticks += `<line x1="${this.x(ms)}" x2="${this.x(ms)}" y1="14" y2="22" stroke="#a0aec0"/>` +
        `<text x="${this.x(ms)}" y="11" text-anchor="middle">+${esc(secs((total * i) / 6))}</text>`;
    }
    this.el.insertAdjacentHTML('beforeend', `<svg class="gantt axis" width="${this.width}" height="24" style="position:sticky;top:0;background:#fff">${ticks}</svg>`);
  }

  // The whole history at a glance (spans started per interval, by kind; failures in red) while the
  // rows arrive a page at a time.
  overview(density, start, end) {
    const kinds = Object.keys(density).filter((k) => k !== 'failed');
    if (!kinds.length || start === null || end === null) return;
    const n = density[kinds[0]].length, h = 36, step = (end - start) / n;
    const totals = Array.from({ length: n }, (_, i) => kinds.reduce((s, k) => s + density[k][i], 0));
    const top = Math.max(...totals, 1);
    let bars = '';
    for (let i = 0; i < n; i++) {
      let y = h;
      const x0 = this.x(start + i * step), w = Math.max(this.x(start + (i + 1) * step) - x0 - 0.5, 1);
      for (const k of kinds) {
        const v = density[k][i];
        if (!v) continue;
        const bh = (v / top) * (h - 4);
        y -= bh;
        bars += `<rect x="${x0}" y="${y}" width="${w}" height="${bh}" fill="${KIND[k] || '#4a5568'}"><title>${esc(k)}: ${v}</title></rect>`;
      }
      if (density.failed && density.failed[i]) bars += `<rect x="${x0}" y="${h}" width="${w}" height="4" fill="${STATUS.Failed}"><title>failed: ${density.failed[i]}</title></rect>`;
    }
    this.el.insertAdjacentHTML('beforeend', `<svg class="gantt overview" width="${this.width}" height="${h + 6}">` +
      `<text class="lane" x="4" y="14">Whole history: spans started</text><text class="lane" x="4" y="28">per interval (max ${top})</text>${bars}</svg>`);
  }

  lane(title) {
    this.el.insertAdjacentHTML('beforeend', `<svg class="gantt" width="${this.width}" height="${ROW + 4}"><text class="lane" x="4" y="${ROW - 2}">${esc(title)}</text>` +
      `<line x1="0" x2="${this.width}" y1="${ROW + 2}" y2="${ROW + 2}" stroke="#e2e8f0"/></svg>`);
  }

  // Append one block of spans; `part` says which instance their `event` indices belong to.
  add(spans, part) {
    let body = '';
    spans.forEach((s, i) => {
      const y = i * ROW;
      const start = s.start ?? this.t0, end = s.end ?? this.t1;
      const x0 = this.x(start), x1 = Math.max(this.x(end), x0 + 2);
      const took = s.end !== null && s.end !== undefined ? secs((end - start) / 1000) : 'open';
      const tip = `${label(s)} | ${s.status} | ${took}${s.polls ? ` | ${s.polls} polls` : ''}${s.reason ? ' | ' + s.reason : ''}`;
      const data = s.event !== undefined ? ` data-event="${s.event}" data-part="${part}"` : '';
      const shape = s.kind === 'event'
        ? `<path class="bar" d="M${x0},${y + 3} l6,6 l-6,6 l-6,-6 z" fill="${colour(s)}"${data}><title>${esc(tip)}</title></path>`
        : `<rect class="bar" x="${x0}" y="${y + 3}" width="${x1 - x0}" height="${ROW - 6}" rx="2" fill="${colour(s)}"${data}><title>${esc(tip)}</title></rect>`;
      body += `<g class="row" data-kind="${esc(s.kind)}" data-name="${esc(s.name)}" data-status="${esc(s.status)}">` +
        `<text x="14" y="${y + 13}">${esc(label(s).slice(0, 44))}</text>${shape}` +
        `<text x="${Math.min(x1 + 4, this.width - RIGHT + 4)}" y="${y + 13}" style="fill:#6b7385">${esc(took)}</text></g>`;
    });
    const block = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    block.setAttribute('class', 'gantt');
    block.setAttribute('width', this.width);
    block.setAttribute('height', spans.length * ROW);
    block.innerHTML = body;
    block.addEventListener('click', (ev) => {
      const target = ev.target.closest('[data-event]');
      if (target) this.onClick(target.dataset.part, Number(target.dataset.event));
    });
    this.el.appendChild(block);
    this.rows += spans.length;
  }
}
