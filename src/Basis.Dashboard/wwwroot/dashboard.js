// basis serve: draws the run's charts as SVG from the server-sent event stream /api/events
// (a snapshot, the history as "points", "ready", then live "points", "info" and "nodes").
'use strict';

(() => {
  const CHARTS = [
    { id: 'reward', title: 'Training reward', source: 'journal', unit: 'mean reward', series: ['reward'], smooth: true, label: 'reward' },
    { id: 'heldout', title: 'Held-out accuracy', source: 'journal', unit: '%', series: ['heldout_accuracy'], scale: 100, markers: true, label: 'accuracy' },
    { id: 'beta', title: 'β (BASIS shrinkage weight)', source: 'journal', unit: 'β', series: ['beta'], label: 'β' },
    { id: 'active', title: 'Active-set size', source: 'journal', unit: 'prompts', series: ['active_set'], label: 'active set' },
    { id: 'valuemse', title: 'Value MSE', source: 'value-mse.json', unit: 'MSE (log scale)', prefix: 'value_mse:', markers: true, log: true },
    { id: 'tokens', title: 'Throughput', source: 'metrics.csv', unit: 'tokens/s', series: ['tokens_per_s'], label: 'tokens/s', zero: true },
    { id: 'queues', title: 'Queue depths', source: 'queues.csv', unit: 'elements', prefix: 'queue:', zero: true },
    { id: 'loss', title: 'Policy loss', source: 'journal', unit: 'loss', series: ['loss'], label: 'loss', smooth: true },
    { id: 'gradnorm', title: 'Gradient norm', source: 'journal', unit: 'L2 norm', series: ['grad_norm'], label: 'gradient norm', zero: true, smooth: true },
  ];
  const SVG = 'http://www.w3.org/2000/svg';
  const HEIGHT = 230;
  const MARGIN = { left: 60, right: 14, top: 10, bottom: 36 };

  const state = { info: null, nodes: [], series: new Map(), ready: false, connected: false };
  const dirty = new Set();
  let frame = 0;
  let drawnDomain = '';

  const $ = (id) => document.getElementById(id);

  // ---------- data ----------

  function entry(name) {
    let e = state.series.get(name);
    if (!e) {
      e = { xs: [], ys: [], sorted: true };
      state.series.set(name, e);
    }
    return e;
  }

  function append(groups) {
    for (const [name, points] of Object.entries(groups)) {
      const e = entry(name);
      for (const [x, y] of points) {
        if (e.xs.length && x < e.xs[e.xs.length - 1]) {
          e.sorted = false;
        }
        e.xs.push(x);
        e.ys.push(y);
      }
      for (const chart of CHARTS) {
        if (belongs(chart, name)) {
          dirty.add(chart);
        }
      }
    }
  }

  function ordered(e) {
    if (!e.sorted) {
      const order = e.xs.map((_, i) => i).sort((a, b) => e.xs[a] - e.xs[b]);
      e.xs = order.map((i) => e.xs[i]);
      e.ys = order.map((i) => e.ys[i]);
      e.sorted = true;
    }
    return e;
  }

  function belongs(chart, name) {
    return chart.prefix ? name.startsWith(chart.prefix) : chart.series.includes(name);
  }

  function seriesOf(chart) {
    const names = chart.prefix
      ? [...state.series.keys()].filter((n) => n.startsWith(chart.prefix)).sort()
      : chart.series.filter((n) => state.series.has(n));
    return names.map((name) => ({ name, data: ordered(state.series.get(name)) })).filter((s) => s.data.xs.length > 0);
  }

  function stepDomain() {
    let lo = Infinity;
    let hi = -Infinity;
    for (const e of state.series.values()) {
      if (e.xs.length) {
        ordered(e);
        lo = Math.min(lo, e.xs[0]);
        hi = Math.max(hi, e.xs[e.xs.length - 1]);
      }
    }
    if (!isFinite(lo)) {
      return [0, 1];
    }
    return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
  }

  // ---------- formatting ----------

  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const unit = raw / power;
    return (unit < 1.5 ? 1 : unit < 3 ? 2 : unit < 7 ? 5 : 10) * power;
  }

  function ticks(lo, hi, count) {
    const step = niceStep(hi - lo, count);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return { values: out, step };
  }

  function linearTicks(lo, hi) {
    const t = ticks(lo, hi, 5);
    return t.values.map((v) => [v, tickLabel(v, t.step)]);
  }

  // Powers of ten, with 2 and 5 between them when the axis spans less than two decades.
  function logTicks(lo, hi) {
    const multiples = hi - lo < 2 ? [1, 2, 5] : [1];
    const out = [];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of multiples) {
        const v = m * Math.pow(10, e);
        const at = Math.log10(v);
        if (at >= lo && at <= hi) {
          out.push([v, String(Number(v.toPrecision(1)))]);
        }
      }
    }
    return out;
  }

  function tickLabel(v, step) {
    if (Math.abs(v) >= 10000) {
      return (v / 1000).toFixed(step >= 1000 ? 0 : 1) + 'k';
    }
    const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
    return v.toFixed(decimals);
  }

  function number(v) {
    const a = Math.abs(v);
    if (Number.isInteger(v)) {
      return v.toLocaleString('en-US');
    }
    if (a >= 1000) {
      return Math.round(v).toLocaleString('en-US');
    }
    if (a >= 100) {
      return v.toFixed(0);
    }
    if (a >= 10) {
      return v.toFixed(1);
    }
    if (a >= 1 || a === 0) {
      return v.toFixed(2);
    }
    return v.toPrecision(3);
  }

  function color(i) {
    return `var(--s${i % 6})`;
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) {
      node.setAttribute(k, v);
    }
    parent?.appendChild(node);
    return node;
  }

  // ---------- cards ----------

  function buildCards() {
    const grid = $('charts');
    for (const chart of CHARTS) {
      const card = document.createElement('article');
      card.className = 'card';
      card.id = `chart-${chart.id}`;
      card.innerHTML = `<div class="card-head"><h2></h2><span class="source"></span><span class="latest"></span></div>`;
      card.querySelector('h2').textContent = chart.title;
      card.querySelector('.source').textContent = `${chart.unit} · ${chart.source}`;
      chart.latest = card.querySelector('.latest');
      chart.svg = el('svg', { class: 'chart', role: 'img', 'aria-label': chart.title, 'data-chart': chart.id }, card);
      chart.legend = document.createElement('div');
      chart.legend.className = 'legend';
      card.appendChild(chart.legend);
      grid.appendChild(card);
      chart.svg.addEventListener('mousemove', (ev) => hover(chart, ev));
      chart.svg.addEventListener('mouseleave', () => unhover(chart));
    }
  }

  // ---------- drawing ----------

  function draw(chart) {
    const svg = chart.svg;
    const width = Math.max(280, Math.round(svg.getBoundingClientRect().width) || 440);
    svg.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
    svg.replaceChildren();
    const scale = chart.scale || 1;
    const series = seriesOf(chart);
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    const [x0, x1] = stepDomain();
    const sx = (x) => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;

    // A log axis (value MSE spans orders of magnitude between estimators) works in log10 units.
    const log = Boolean(chart.log);
    const ty = log ? (v) => Math.log10(v) : (v) => v;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      for (const y of s.data.ys) {
        if (!log || y > 0) {
          lo = Math.min(lo, ty(y * scale));
          hi = Math.max(hi, ty(y * scale));
        }
      }
    }
    if (!isFinite(lo)) {
      lo = log ? -3 : 0;
      hi = log ? 0 : 1;
    }
    if (chart.zero && !log) {
      lo = Math.min(lo, 0);
    }
    if (lo === hi) {
      const pad = log ? 0.5 : Math.abs(lo) * 0.1 || 1;
      lo -= pad;
      hi += pad;
    } else {
      const pad = (hi - lo) * 0.06;
      lo = chart.zero && !log && lo >= 0 ? lo : lo - pad;
      hi += pad;
    }
    const sy = (v) => MARGIN.top + plotH - ((ty(v) - lo) / (hi - lo)) * plotH;

    // Grid, axes, labels.
    for (const [v, label] of log ? logTicks(lo, hi) : linearTicks(lo, hi)) {
      const y = sy(v);
      el('line', { class: 'grid-line', x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y }, svg);
      el('text', { x: MARGIN.left - 7, y: y + 3.5, 'text-anchor': 'end' }, svg).textContent = label;
    }
    const xt = ticks(x0, x1, Math.max(3, Math.floor(plotW / 80)));
    for (const v of xt.values) {
      const x = sx(v);
      el('line', { class: 'axis-line', x1: x, x2: x, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 4 }, svg);
      el('text', { x, y: MARGIN.top + plotH + 16, 'text-anchor': 'middle' }, svg).textContent = tickLabel(v, xt.step);
    }
    el('line', { class: 'axis-line', x1: MARGIN.left, x2: width - MARGIN.right, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH }, svg);
    el('line', { class: 'axis-line', x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotH }, svg);
    el('text', { class: 'axis-title', x: MARGIN.left + plotW / 2, y: HEIGHT - 3, 'text-anchor': 'middle' }, svg).textContent = 'step';
    const yTitle = el('text', { class: 'axis-title', 'text-anchor': 'middle', transform: `translate(13 ${MARGIN.top + plotH / 2}) rotate(-90)` }, svg);
    yTitle.textContent = chart.unit;

    if (!series.length) {
      const note = !state.ready ? 'Loading the run’s history…' : noteFor(chart);
      wrapText(svg, note, MARGIN.left + plotW / 2, MARGIN.top + plotH / 2 - 8, plotW - 30);
      chart.latest.textContent = '';
      chart.legend.replaceChildren();
      return;
    }

    const clip = `clip-${chart.id}`;
    const defs = el('defs', {}, svg);
    const clipPath = el('clipPath', { id: clip }, defs);
    el('rect', { x: MARGIN.left - 4, y: MARGIN.top - 4, width: plotW + 8, height: plotH + 8 }, clipPath);
    const plot = el('g', { 'clip-path': `url(#${clip})` }, svg);

    series.forEach((s, i) => {
      // A log axis cannot place zero or a negative figure: those points are left out of the line.
      const keep = log ? s.data.xs.map((_, k) => k).filter((k) => s.data.ys[k] > 0) : null;
      const xs = keep ? keep.map((k) => s.data.xs[k]) : s.data.xs;
      const ys = keep ? keep.map((k) => s.data.ys[k]) : s.data.ys;
      let d = '';
      for (let k = 0; k < xs.length; k++) {
        d += `${k ? 'L' : 'M'}${sx(xs[k]).toFixed(1)} ${sy(ys[k] * scale).toFixed(1)}`;
      }
      const raw = chart.smooth && xs.length > 20;
      el('path', { class: raw ? 'series raw' : 'series', d, stroke: color(i), 'data-series': s.name, 'data-points': xs.length }, plot);
      if (raw) {
        el('path', { class: 'series', d: ema(xs, ys, scale, sx, sy), stroke: color(i), 'data-role': 'moving-average' }, plot);
      }
      if (chart.markers || xs.length <= 60) {
        for (let k = 0; k < xs.length; k++) {
          el('circle', { class: 'marker', cx: sx(xs[k]), cy: sy(ys[k] * scale), r: 3, fill: color(i) }, plot);
        }
      }
    });
    chart.cross = el('line', { class: 'crosshair', x1: 0, x2: 0, y1: MARGIN.top, y2: MARGIN.top + plotH, visibility: 'hidden' }, svg);
    chart.geometry = { sx, x0, x1, plotW };

    const first = series[0].data;
    const last = first.ys[first.ys.length - 1] * scale;
    chart.latest.innerHTML = '';
    chart.latest.append(number(last));
    if (chart.unit === '%' || chart.unit === 'tokens/s') {
      const small = document.createElement('small');
      small.textContent = chart.unit;
      chart.latest.append(small);
    }
    chart.legend.replaceChildren(...series.map((s, i) => legendItem(chart, s, i)));
  }

  function ema(xs, ys, scale, sx, sy) {
    // A 20-step exponential moving average, bias-corrected so the first steps are not pulled to zero.
    const alpha = 2 / 21;
    let m = 0;
    let w = 0;
    let d = '';
    for (let k = 0; k < xs.length; k++) {
      m = (1 - alpha) * m + alpha * ys[k];
      w = (1 - alpha) * w + alpha;
      d += `${k ? 'L' : 'M'}${sx(xs[k]).toFixed(1)} ${sy((m / w) * scale).toFixed(1)}`;
    }
    return d;
  }

  function legendItem(chart, s, i) {
    const span = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = color(i);
    span.append(swatch, chart.prefix ? s.name.slice(chart.prefix.length) : chart.label);
    if (chart.smooth && s.data.xs.length > 20) {
      span.append(' (faint: per step; solid: 20-step moving average)');
    }
    return span;
  }

  function noteFor(chart) {
    const notes = state.info?.notes || {};
    return notes[chart.prefix || chart.series[0]] || 'No data.';
  }

  function wrapText(svg, text, x, y, width) {
    const words = text.split(' ');
    const perLine = Math.max(20, Math.floor(width / 6.6));
    const lines = [];
    let line = '';
    for (const word of words) {
      if ((line + ' ' + word).trim().length > perLine && line) {
        lines.push(line);
        line = word;
      } else {
        line = (line + ' ' + word).trim();
      }
    }
    lines.push(line);
    lines.forEach((l, i) => {
      el('text', { class: 'note', x, y: y + i * 17, 'text-anchor': 'middle' }, svg).textContent = l;
    });
  }

  // ---------- hover ----------

  function nearest(xs, x) {
    let lo = 0;
    let hi = xs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] < x) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo > 0 && Math.abs(xs[lo - 1] - x) < Math.abs(xs[lo] - x) ? lo - 1 : lo;
  }

  function hover(chart, ev) {
    const g = chart.geometry;
    const series = seriesOf(chart);
    if (!g || !series.length) {
      return;
    }
    const box = chart.svg.getBoundingClientRect();
    const px = ((ev.clientX - box.left) / box.width) * chart.svg.viewBox.baseVal.width;
    const step = g.x0 + ((px - MARGIN.left) / g.plotW) * (g.x1 - g.x0);
    const first = series[0].data;
    const k = nearest(first.xs, step);
    const at = first.xs[k];
    chart.cross.setAttribute('x1', g.sx(at));
    chart.cross.setAttribute('x2', g.sx(at));
    chart.cross.setAttribute('visibility', 'visible');
    const tip = $('tooltip');
    tip.replaceChildren();
    const head = document.createElement('b');
    head.textContent = `step ${at}`;
    tip.append(head);
    series.forEach((s, i) => {
      const j = nearest(s.data.xs, at);
      const row = document.createElement('div');
      const swatch = document.createElement('span');
      swatch.style.color = color(i);
      swatch.textContent = '● ';
      const label = chart.prefix ? s.name.slice(chart.prefix.length) : chart.label;
      row.append(swatch, `${label}: ${number(s.data.ys[j] * (chart.scale || 1))}${chart.unit === '%' ? ' %' : ''}`);
      tip.append(row);
    });
    tip.hidden = false;
    tip.style.left = `${Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8)}px`;
    tip.style.top = `${ev.clientY + 14}px`;
  }

  function unhover(chart) {
    chart.cross?.setAttribute('visibility', 'hidden');
    $('tooltip').hidden = true;
  }

  // ---------- header and nodes ----------

  function renderInfo() {
    const info = state.info;
    if (!info) {
      return;
    }
    document.title = `basis serve · ${info.name}`;
    $('run-name').textContent = info.name;
    const facts = [];
    const fact = (label, value) => {
      if (value !== null && value !== undefined) {
        facts.push([label, String(value)]);
      }
    };
    fact('estimator', info.estimator);
    fact('seed', info.seed);
    if (info.batchSize) {
      fact('batch', info.rolloutsPerPrompt > 1 ? `${info.batchSize} (${info.batchSize / info.rolloutsPerPrompt} × ${info.rolloutsPerPrompt})` : info.batchSize);
    }
    const reward = state.series.get('reward');
    fact('steps', reward ? reward.xs.length : 0);
    $('facts').replaceChildren(...facts.map(([label, value]) => {
      const span = document.createElement('span');
      const b = document.createElement('b');
      b.textContent = value;
      span.append(`${label} `, b);
      return span;
    }));
    const banner = $('banner');
    banner.hidden = !info.error;
    banner.textContent = info.error || '';
    renderStatus();
  }

  function renderStatus() {
    const status = $('status');
    const text = $('status-text');
    const run = state.info?.state;
    if (!state.connected) {
      status.className = 'status offline';
      text.textContent = 'disconnected, retrying';
    } else if (!state.ready) {
      status.className = 'status';
      text.textContent = 'loading history';
    } else if (run === 'running') {
      status.className = 'status live';
      text.textContent = 'live';
    } else {
      status.className = `status ${run}`;
      text.textContent = `run ${run}`;
    }
  }

  function renderNodes() {
    const mode = state.info?.nodesMode || 'embedded';
    $('nodes-title').textContent = 'Nodes';
    $('nodes-mode').textContent = mode === 'cluster' ? 'cluster membership' : 'single process (embedded)';
    const rows = state.nodes.map((n) => {
      const tr = document.createElement('tr');
      const cells = [n.name, n.role, null, n.lastSeen ? ago(n.lastSeen) : '—', n.detail];
      cells.forEach((value, i) => {
        const td = document.createElement('td');
        if (i === 2) {
          const pill = document.createElement('span');
          pill.className = `pill ${n.state}`;
          pill.textContent = n.state;
          td.append(pill);
        } else {
          td.textContent = value;
          if (i === 4) {
            td.className = 'mono';
          }
        }
        tr.append(td);
      });
      return tr;
    });
    $('nodes').replaceChildren(...rows);
  }

  function ago(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return seconds < 90 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
  }

  // ---------- scheduling ----------

  function schedule() {
    if (!frame) {
      frame = requestAnimationFrame(flush);
    }
  }

  function flush() {
    frame = 0;
    // Every chart shares the step axis: when it grows, charts whose own series did not change move too.
    const domain = stepDomain().join(',');
    if (domain !== drawnDomain) {
      drawnDomain = domain;
      CHARTS.forEach((c) => dirty.add(c));
    }
    for (const chart of dirty) {
      draw(chart);
    }
    dirty.clear();
    renderInfo();
    document.body.dataset.ready = state.ready ? 'true' : 'false';
    document.body.dataset.steps = String(state.series.get('reward')?.xs.length || 0);
  }

  function redrawAll() {
    CHARTS.forEach((c) => dirty.add(c));
    schedule();
  }

  // ---------- stream ----------

  function connect() {
    const source = new EventSource('/api/events');
    source.addEventListener('open', () => {
      state.connected = true;
      renderStatus();
    });
    source.addEventListener('error', () => {
      state.connected = false;
      renderStatus();
    });
    source.addEventListener('snapshot', (ev) => {
      const data = JSON.parse(ev.data);
      state.connected = true;
      state.info = data.info;
      state.nodes = data.nodes;
      state.series.clear();
      state.ready = false;
      append(data.series);
      renderNodes();
      redrawAll();
    });
    source.addEventListener('points', (ev) => {
      append(JSON.parse(ev.data));
      schedule();
    });
    source.addEventListener('ready', () => {
      state.ready = true;
      redrawAll();
    });
    source.addEventListener('info', (ev) => {
      state.info = JSON.parse(ev.data);
      redrawAll();
      renderNodes();
    });
    source.addEventListener('nodes', (ev) => {
      state.nodes = JSON.parse(ev.data);
      renderNodes();
    });
  }

  buildCards();
  new ResizeObserver(redrawAll).observe($('charts'));
  setInterval(renderNodes, 5000);
  connect();
})();
