// cnn serve: the page. Plain JavaScript, no framework, no build step, nothing fetched from
// elsewhere: it talks only to the JSON API of `cnn serve` (docs/serve.md).
//
// Views are hash routes: #/runs, #/run/ID, #/compare?ids=A,B, #/draw, #/inside. Each route change
// bumps `routeGeneration`; asynchronous work started for an older route sees the change and
// stops (so a run's live polling ends when the page shows something else).
//
// The access token arrives in the page's URL (?token=...); the server answers that request with
// an HttpOnly cookie, so fetches and <img> loads of this origin carry it by themselves. The token
// is also kept in memory for an Authorization header (a browser that refused the cookie still
// works for fetches) and removed from the address bar, so it does not end up in screenshots or
// bookmarks.
//
// The browser test (tests/serve/browser/) reads these stable hooks, never pixels:
//   #predicted            the predicted class name on Draw ("–" when the canvas is empty)
//   canvas[data-points]   the number of points a chart draws (#loss-chart, #accuracy-chart,
//                         #compare-loss-chart, ...)
//   #runs-body tr[data-run-id], #confusion button[data-true][data-predicted],
//   #pair-images figure, #filters[data-tiles], #features[data-layers], #message (errors).

'use strict';

// ---------------------------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id);

/** Creates an element: el('td', {class: 'num', dataset: {x: 1}}, 'text', child...). */
function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class')
      element.className = value;
    else if (key === 'dataset')
      Object.assign(element.dataset, value);
    else if (key === 'text')
      element.textContent = value;
    else if (key.startsWith('on'))
      element.addEventListener(key.slice(2), value);
    else
      element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const isNumber = (x) => typeof x === 'number' && Number.isFinite(x);
const percent = (x, digits = 2) => (isNumber(x) ? (100 * x).toFixed(digits) + '%' : '–');
const accuracy = (x) => (isNumber(x) ? x.toFixed(4) : '–');

function duration(seconds) {
  if (!isNumber(seconds)) return '–';
  if (seconds < 60) return seconds.toFixed(seconds < 1 ? 2 : seconds < 10 ? 1 : 0) + ' s';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h} h ${m} min` : `${m} min ${rest} s`;
}

function shortDate(text) {
  if (!text) return '–';
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return String(text);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function rate(x) {
  if (!isNumber(x)) return '–';
  return x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Errors: a visible message area, never swallowed.

function showError(error) {
  const text = error instanceof Error ? error.message : String(error);
  $('message-text').textContent = text;
  $('message').hidden = false;
  console.error(text);
}
function clearError() {
  $('message').hidden = true;
  $('message-text').textContent = '';
}
$('message-close').addEventListener('click', clearError);

// ---------------------------------------------------------------------------------------------
// The API

const token = new URLSearchParams(location.search).get('token');
if (token) history.replaceState(null, '', location.pathname + location.hash);

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Fetches an API path; returns the parsed JSON, throws ApiError with the server's message. */
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token) headers.set('Authorization', 'Bearer ' + token);
  let response;
  try {
    response = await fetch(path, {...options, headers, credentials: 'same-origin'});
  } catch (error) {
    throw new ApiError(`cannot reach the server (${path}): ${error.message}`, 0);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (response.ok)
      throw new ApiError(`${path}: the server's answer is not JSON`, response.status);
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : text || response.statusText;
    throw new ApiError(`${path}: ${response.status} ${message}`, response.status);
  }
  return body;
}

const runPath = (id) => '/api/runs/' + encodeURIComponent(id);
const modelPath = (id) => '/api/models/' + encodeURIComponent(id);

// ---------------------------------------------------------------------------------------------
// Charts: plain canvas. A chart is drawn from scratch each time its data grows.

const palette = [
  '#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563',
  '#65a30d'
];

/** Nice tick values for a linear axis between lo and hi. */
function linearTicks(lo, hi, count = 5) {
  const span = hi - lo || 1;
  const raw = span / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  const step =
      [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => span / s <= count) || 10 * magnitude;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(+t.toPrecision(12));
  return ticks;
}

/** Tick values for a log10 axis between lo and hi (both > 0). */
function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const f of [1, 2, 5]) {
      const t = f * Math.pow(10, e);
      if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t);
    }
  }
  if (ticks.length > 7) return ticks.filter((t) => Math.abs(Math.log10(t) % 1) < 1e-9);
  return ticks;
}

/** An accuracy tick as a percentage with no more digits than it needs: 97%, 97.5%, 97.25%. */
const percentTick = (t) => +(100 * t).toFixed(2) + '%';

function formatTick(t) {
  if (t === 0) return '0';
  const a = Math.abs(t);
  if (a >= 10000) return (t / 1000).toFixed(0) + 'k';
  if (a >= 1) return String(+t.toFixed(2));
  return String(+t.toPrecision(3));
}

/**
 * Exponential moving average, a readable line through a noisy loss. Debiased as Adam's
 * moments are, so that the first points are not dragged towards the first value.
 */
function smooth(points, weight = 0.9) {
  const out = [];
  let average = 0;
  let power = 1;
  for (const [x, y] of points) {
    average = weight * average + (1 - weight) * y;
    power *= weight;
    out.push([x, average / (1 - power)]);
  }
  return out;
}

/**
 * Draws line series on a canvas at the screen's pixel density.
 * series: [{color, points: [[x, y]...], width?, alpha?, dots?}]; options: {log, yMin, yMax,
 * xLabel, yFormat, emptyText}. data-points on the canvas = points of the series marked counted.
 */
function drawChart(canvas, series, options = {}) {
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 500;
  const cssHeight = canvas.clientHeight || 260;
  if (canvas.width !== Math.round(cssWidth * ratio) ||
      canvas.height !== Math.round(cssHeight * ratio)) {
    canvas.width = Math.round(cssWidth * ratio);
    canvas.height = Math.round(cssHeight * ratio);
  }
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, cssWidth, cssHeight);
  g.font = '12px system-ui, "DejaVu Sans", sans-serif';

  const counted =
      series.filter((s) => s.counted !== false).reduce((n, s) => n + s.points.length, 0);
  canvas.dataset.points = String(counted);

  const all = series.flatMap((s) => s.points)
                  .filter(([x, y]) => isNumber(x) && isNumber(y) && (!options.log || y > 0));
  const left = 52, right = 22, top = 10, bottom = 40;
  const width = cssWidth - left - right;
  const height = cssHeight - top - bottom;
  if (all.length === 0) {
    g.fillStyle = '#8a93a5';
    g.textAlign = 'center';
    g.fillText(options.emptyText || 'no points yet', left + width / 2, top + height / 2);
    return;
  }
  // Loops, not Math.min(...points): a long run's log can outgrow the arguments a call may take.
  let xMin = Infinity, xMax = -Infinity, lowest = Infinity, highest = -Infinity;
  for (const [x, y] of all) {
    xMin = Math.min(xMin, x);
    xMax = Math.max(xMax, x);
    lowest = Math.min(lowest, y);
    highest = Math.max(highest, y);
  }
  if (options.xMax !== undefined && options.xMax > xMax) xMax = options.xMax;
  if (xMax === xMin) xMax = xMin + 1;
  let yMin = options.yMin !== undefined ? options.yMin : lowest;
  let yMax = options.yMax !== undefined ? options.yMax : highest;
  if (options.log) {
    yMin = Math.max(yMin, 1e-6);
    yMax = Math.max(yMax, yMin * 1.5);
    yMin = Math.pow(10, Math.floor(Math.log10(yMin) * 4) / 4);
    yMax = Math.pow(10, Math.ceil(Math.log10(yMax) * 4) / 4);
  } else {
    if (yMax === yMin) {
      yMin -= 0.01;
      yMax += 0.01;
    }
    const pad = (yMax - yMin) * 0.06;
    if (options.yMin === undefined) yMin -= pad;
    if (options.yMax === undefined) yMax += pad;
    if (options.clamp) {
      yMin = Math.max(yMin, options.clamp[0]);
      yMax = Math.min(yMax, options.clamp[1]);
    }
  }
  const fy = options.log ? (y) => Math.log10(y) : (y) => y;
  const X = (x) => left + ((x - xMin) / (xMax - xMin)) * width;
  const Y = (y) => top + height - ((fy(y) - fy(yMin)) / (fy(yMax) - fy(yMin))) * height;

  // Grid and axes.
  g.strokeStyle = '#e6e9ef';
  g.fillStyle = '#5d6678';
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  const yTicks = options.log ? logTicks(yMin, yMax) : linearTicks(yMin, yMax);
  for (const t of yTicks) {
    const y = Math.round(Y(t)) + 0.5;
    g.beginPath();
    g.moveTo(left, y);
    g.lineTo(left + width, y);
    g.stroke();
    g.fillText(options.yFormat ? options.yFormat(t) : formatTick(t), left - 6, y);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const t of linearTicks(xMin, xMax, 6)) {
    const x = Math.round(X(t)) + 0.5;
    g.beginPath();
    g.moveTo(x, top);
    g.lineTo(x, top + height);
    g.stroke();
    g.fillText(formatTick(t), x, top + height + 5);
  }
  g.strokeStyle = '#9aa3b2';
  g.strokeRect(left + 0.5, top + 0.5, width, height);
  if (options.xLabel) {
    g.textAlign = 'center';
    g.fillText(options.xLabel, left + width / 2, top + height + 22);
  }

  // The series, clipped to the plot.
  g.save();
  g.beginPath();
  g.rect(left, top, width, height);
  g.clip();
  for (const s of series) {
    const points =
        s.points.filter(([x, y]) => isNumber(x) && isNumber(y) && (!options.log || y > 0));
    g.strokeStyle = s.color;
    g.fillStyle = s.color;
    g.globalAlpha = s.alpha ?? 1;
    g.lineWidth = s.width ?? 2;
    g.lineJoin = 'round';
    g.beginPath();
    points.forEach(([x, y], i) => (i === 0 ? g.moveTo(X(x), Y(y)) : g.lineTo(X(x), Y(y))));
    g.stroke();
    if (s.dots) {
      for (const [x, y] of points) {
        g.beginPath();
        g.arc(X(x), Y(y), 3, 0, 2 * Math.PI);
        g.fill();
      }
    }
  }
  g.restore();
  g.globalAlpha = 1;
}

function lossPoints(rows) {
  return rows.filter((r) => isNumber(r.loss) && r.loss > 0).map((r) => [r.step, r.loss]);
}
function validationPoints(rows) {
  return rows.filter((r) => isNumber(r.validation_accuracy))
      .map((r) => [r.step, r.validation_accuracy]);
}

// ---------------------------------------------------------------------------------------------
// Router

let routeGeneration = 0;
const views = ['runs', 'run', 'compare', 'draw', 'inside'];
let currentView = null;

/** decodeURIComponent that leaves a malformed escape as it is instead of throwing. */
function decoded(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseHash() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?');
  const parts = path.split('/').filter((p) => p !== '');
  const params = new URLSearchParams(query);
  if (parts[0] === 'run' && parts.length >= 2)
    return {view: 'run', id: decoded(parts.slice(1).join('/'))};
  if (parts[0] === 'compare') {
    // ids=A,B with each id encoded on its own (an id may hold a comma): split, then decode.
    const raw = query.split('&').find((p) => p.startsWith('ids=')) || 'ids=';
    const ids = raw.slice(4).split(',').filter(Boolean).map(decoded);
    return {view: 'compare', params, ids};
  }
  if (views.includes(parts[0])) return {view: parts[0], params};
  return {view: 'runs', params};
}

function route() {
  const generation = ++routeGeneration;
  const target = parseHash();
  clearError();
  if (currentView && currentView !== target.view) viewLeave[currentView]?.();
  currentView = target.view;
  for (const name of views) $('view-' + name).hidden = name !== target.view;
  const navName = target.view === 'run' ? 'runs' : target.view;
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === navName)
      link.setAttribute('aria-current', 'page');
    else
      link.removeAttribute('aria-current');
  }
  viewEnter[target.view](target, generation).catch(showError);
}

const isCurrent = (generation) => generation === routeGeneration;

// ---------------------------------------------------------------------------------------------
// Runs

const runsState = {
  runs: [],
  sortKey: 'started',
  descending: true,
  picked: new Set(),
  timer: null
};

function networkOf(run) { return run.preset || run.architecture || ''; }

function sortValue(run, key) {
  if (key === 'network') return networkOf(run).toLowerCase();
  const value = run[key];
  if (typeof value === 'string') return value.toLowerCase();
  return value;
}

function renderRuns() {
  const body = $('runs-body');
  const filter = $('runs-filter').value.trim().toLowerCase();
  const words = filter.split(/\s+/).filter(Boolean);
  const key = runsState.sortKey;
  const direction = runsState.descending ? -1 : 1;
  const runs =
      runsState.runs
          .filter((run) => {
            const text = [run.id, networkOf(run), run.status, run.started].join(' ').toLowerCase();
            return words.every((w) => text.includes(w));
          })
          .sort((a, b) => {
            const x = sortValue(a, key);
            const y = sortValue(b, key);
            const missingX = x === undefined || x === null || x === '';
            const missingY = y === undefined || y === null || y === '';
            if (missingX || missingY)
              return missingX === missingY ? 0 : missingX ? 1 : -1;  // blanks last
            return x < y ? -direction : x > y ? direction : 0;
          });

  for (const th of document.querySelectorAll('#runs-table th[data-sort]')) {
    if (th.dataset.sort === key)
      th.setAttribute('aria-sort', runsState.descending ? 'descending' : 'ascending');
    else
      th.removeAttribute('aria-sort');
  }

  body.replaceChildren(...runs.map((run) => {
    const checkbox = el('input', {
      type: 'checkbox',
      class: 'pick-run',
      'aria-label': 'Pick ' + run.id,
      dataset: {runId: run.id},
      checked: runsState.picked.has(run.id)
    });
    checkbox.addEventListener('change', () => {
      if (checkbox.checked)
        runsState.picked.add(run.id);
      else
        runsState.picked.delete(run.id);
      updateCompareButton();
    });
    const done = isNumber(run.last_step) ? run.last_step : run.iterations;
    const progress =
        run.status !== 'finished' && isNumber(done) && isNumber(run.planned_iterations) ?
        el('span', {class: 'sub'}, `${done} of ${run.planned_iterations} iterations`) :
        null;
    const resume = run.status === 'interrupted' && run.resume_command ?
        el('code', {class: 'resume', title: 'The command that continues this run'},
           run.resume_command) :
        null;
    const architecture =
        run.preset && run.architecture ? el('span', {class: 'sub mono'}, run.architecture) : null;
    return el(
        'tr', {dataset: {runId: run.id, status: run.status || 'unknown'}},
        el('td', {class: 'pick'}, checkbox),
        el('td', {}, el('a', {href: '#/run/' + encodeURIComponent(run.id)}, run.id),
           run.has_model ? el('a', {
             class: 'sub',
             href: '#/draw?model=' + encodeURIComponent(run.id),
             title: 'Draw a digit for this run\'s model'
           },
                              'draw for it') :
                           null),
        el('td', {}, run.preset || el('span', {class: 'mono'}, run.architecture || '–'),
           architecture),
        el('td', {},
           el('span', {class: 'status ' + (run.status || 'unknown')}, run.status || 'unknown'),
           progress, resume),
        el('td', {class: 'num'}, accuracy(run.best_validation_accuracy)),
        el('td', {class: 'num'}, accuracy(run.test_accuracy)),
        el('td', {class: 'nowrap'}, shortDate(run.started)),
        el('td', {class: 'num nowrap'}, duration(run.training_seconds)),
        el('td', {class: 'num nowrap'}, rate(run.images_per_second)));
  }));
  $('runs-empty').hidden = runsState.runs.length > 0;
  updateCompareButton();
}

function updateCompareButton() {
  const known = new Set(runsState.runs.map((r) => r.id));
  for (const id of [...runsState.picked])
    if (!known.has(id)) runsState.picked.delete(id);
  const button = $('compare-button');
  button.disabled = runsState.picked.size < 2;
  button.textContent =
      runsState.picked.size ? `Compare selected (${runsState.picked.size})` : 'Compare selected';
}

async function loadRuns(generation) {
  const answer = await api('/api/runs');
  if (!isCurrent(generation)) return;
  runsState.runs = Array.isArray(answer.runs) ? answer.runs : [];
  renderRuns();
}

$('runs-filter').addEventListener('input', renderRuns);
for (const th of document.querySelectorAll('#runs-table th[data-sort]')) {
  th.tabIndex = 0;
  th.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      th.click();
    }
  });
  th.addEventListener('click', () => {
    if (runsState.sortKey === th.dataset.sort)
      runsState.descending = !runsState.descending;
    else {
      runsState.sortKey = th.dataset.sort;
      runsState.descending = [
        'best_validation_accuracy', 'test_accuracy', 'started', 'images_per_second'
      ].includes(th.dataset.sort);
    }
    renderRuns();
  });
}
$('compare-button').addEventListener('click', () => {
  const ids = [...runsState.picked].map(encodeURIComponent).join(',');
  location.hash = '#/compare?ids=' + ids;
});

async function enterRuns(target, generation) {
  await loadRuns(generation);
  // Statuses and accuracies change while runs train: refresh every few seconds.
  clearInterval(runsState.timer);
  runsState.timer = setInterval(() => {
    if (!isCurrent(generation)) {
      clearInterval(runsState.timer);
      return;
    }
    loadRuns(generation).catch(showError);
  }, 4000);
}

// ---------------------------------------------------------------------------------------------
// One run, live

// What the run view holds of the run it shows; emptyRun() is the state before its first answer.
function emptyRun(id) {
  return {
    id,
    rows: [],
    next: 0,
    detail: null,
    planned: null,
    status: null,
    secondsLeft: null,
    confusion: null
  };
}
const runState = emptyRun(null);

function drawRunCharts() {
  const loss = lossPoints(runState.rows);
  const planned = runState.planned;
  drawChart(
      $('loss-chart'),
      [
        {color: '#93b4f5', points: loss, width: 1},
        {color: '#1d4ed8', points: smooth(loss), width: 2, counted: false},
      ],
      {
        log: true,
        xLabel: 'iteration',
        xMax: planned || undefined,
        emptyText: 'waiting for the first logged step'
      });
  const validation = validationPoints(runState.rows);
  drawChart($('accuracy-chart'), [{color: '#16a34a', points: validation, width: 2, dots: true}], {
    xLabel: 'iteration',
    xMax: planned || undefined,
    clamp: [0, 1],
    yFormat: percentTick,
    emptyText: 'no validation run yet'
  });
}

function renderRunHeader() {
  const detail = runState.detail || {};
  const status = runState.status || detail.status || 'unknown';
  $('run-title').textContent = runState.id;
  const badge = $('run-status');
  badge.textContent = status;
  badge.className = 'status ' + status;
  $('run-resume').hidden = !(status === 'interrupted' && detail.resume_command);
  $('run-resume-command').textContent = detail.resume_command || '';

  const last = runState.rows[runState.rows.length - 1];
  const planned = runState.planned || detail.planned_iterations;
  const done = last ? last.step : detail.iterations || 0;
  const progress = $('run-progress');
  progress.max = planned || 1;
  progress.value = status === 'finished' ? progress.max : Math.min(done, planned || 1);
  let text = planned ? `iteration ${done} of ${planned} (${Math.floor((100 * done) / planned)}%)` :
                       `iteration ${done}`;
  if (status === 'running') {
    let left = runState.secondsLeft;
    if (!isNumber(left) && last && planned && done > 0 && isNumber(last.wall_seconds)) {
      left = (last.wall_seconds / done) * (planned - done);
    }
    if (isNumber(left)) text += ` · about ${duration(left)} left`;
  } else if (isNumber(detail.training_seconds)) {
    text += ` · trained in ${duration(detail.training_seconds)}`;
  }
  $('run-progress-text').textContent = text;

  const parts = [];
  if (last) {
    parts.push(`step ${last.step}`, `epoch ${last.epoch}`);
    if (isNumber(last.loss)) parts.push(`loss ${last.loss.toFixed(4)}`);
    if (isNumber(last.learning_rate)) parts.push(`learning rate ${formatTick(last.learning_rate)}`);
    if (isNumber(last.images_per_second)) parts.push(`${rate(last.images_per_second)} images/s`);
  }
  const validation = validationPoints(runState.rows);
  if (validation.length)
    parts.push(`last validation accuracy ${percent(validation[validation.length - 1][1])}`);
  if (isNumber(detail.test_accuracy)) parts.push(`test accuracy ${percent(detail.test_accuracy)}`);
  $('run-latest').textContent = parts.join(' · ');
}

function settingsRows(detail) {
  const rows = [];
  const add = (name, value) => {
    if (value === undefined || value === null || value === '') return;
    rows.push([name, typeof value === 'object' ? JSON.stringify(value) : String(value)]);
  };
  add('command', detail.command);
  for (const [name, value] of Object.entries(detail.settings || {})) add(name, value);
  for (const name
           of ['architecture', 'data', 'data_format', 'input_normalization', 'preparation',
               'validation', 'processes', 'threads_per_process', 'started', 'ended', 'host',
               'version']) {
    if (!(detail.settings && name in detail.settings)) add(name, detail[name]);
  }
  return rows;
}

function renderRunSettings() {
  const table = $('run-settings');
  table.replaceChildren(...settingsRows(runState.detail || {})
                            .map(
                                ([name, value]) => el(
                                    'tr', {}, el('th', {}, name),
                                    el('td', {class: name === 'command' ? 'mono' : ''}, value))));
}

async function loadConfusion(generation) {
  // The server says whether the run has test predictions; ask only then (an older server that
  // does not say is asked anyway, and a 404 means none).
  if (runState.detail && runState.detail.has_test_predictions === false) {
    $('confusion-section').hidden = true;
    return;
  }
  let answer;
  try {
    answer = await api(runPath(runState.id) + '/confusion');
  } catch (error) {
    if (error.status === 404) {
      $('confusion-section').hidden = true;
      return;
    }  // none (yet)
    throw error;
  }
  if (!isCurrent(generation)) return;
  runState.confusion = answer;
  renderConfusion();
}

function renderConfusion() {
  const {names = [], matrix = []} = runState.confusion;
  const classes = matrix.length;
  const name = (k) => (names[k] !== undefined ? names[k] : String(k));
  let largestOff = 1;
  let largestDiagonal = 1;
  matrix.forEach((row, t) => row.forEach((n, p) => {
    if (t === p)
      largestDiagonal = Math.max(largestDiagonal, n);
    else
      largestOff = Math.max(largestOff, n);
  }));
  const head =
      el('tr', {}, el('th', {class: 'axis'}, 'true \\ predicted'),
         ...names.slice(0, classes).map((_, p) => el('th', {}, name(p))));
  const body = matrix.map(
      (row, t) => el('tr', {}, el('th', {}, name(t)), ...row.map((n, p) => {
        const button =
            el('button', {
              type: 'button',
              class: n === 0 ? 'zero' : '',
              dataset: {true: t, predicted: p, count: n},
              title: `true ${name(t)}, predicted ${name(p)}: ${n} images`
            },
               n);
        // Correct answers in green, mistakes in red; the darker, the more images.
        const strength = t === p ? n / largestDiagonal : Math.sqrt(n / largestOff);
        if (n > 0) {
          button.style.backgroundColor = t === p ? `rgba(22, 163, 74, ${0.12 + 0.55 * strength})` :
                                                   `rgba(220, 38, 38, ${0.10 + 0.6 * strength})`;
        }
        if (n > 0) button.addEventListener('click', () => showPair(t, p, button).catch(showError));
        return el('td', {}, button);
      })));
  $('confusion').replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
  $('confusion-section').hidden = false;
}

async function showPair(trueClass, predictedClass, button) {
  const generation = routeGeneration;
  for (const b of document.querySelectorAll('#confusion button.chosen'))
    b.classList.remove('chosen');
  button.classList.add('chosen');
  const names = runState.confusion.names || [];
  const name = (k) => (names[k] !== undefined ? names[k] : String(k));
  const answer =
      await api(`${runPath(runState.id)}/confusion/${trueClass}/${predictedClass}?limit=60`);
  if (!isCurrent(generation)) return;
  const images = answer.images || [];
  const total = isNumber(answer.total) ? answer.total : Number(button.dataset.count);
  $('pair-title').textContent = `True ${name(trueClass)}, predicted ${name(predictedClass)}: ` +
      (images.length < total ? `${images.length} of ${total} test images` :
                               `${images.length} test images`);
  $('pair-images').replaceChildren(...images.map((image) => {
    const probabilities = image.probabilities || [];
    const order = probabilities.map((p, k) => [p, k]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    if (!order.some(([, k]) => k === trueClass) && probabilities[trueClass] !== undefined) {
      order.push([probabilities[trueClass], trueClass]);
    }
    return el(
        'figure', {dataset: {index: image.index}}, el('img', {
          src: `${runPath(runState.id)}/test-images/${image.index}.png`,
          alt: `test image ${image.index}`,
          loading: 'lazy'
        }),
        el('figcaption', {}, el('div', {}, `#${image.index}`), ...order.map(([p, k]) => {
          const fill = el('div', {class: 'fill'});
          fill.style.width = (100 * p).toFixed(1) + '%';
          const kind = k === trueClass ? 'is-true' : k === predictedClass ? 'is-predicted' : '';
          return el(
              'div', {class: 'mini-bar ' + kind}, el('span', {}, name(k)),
              el('div', {class: 'track'}, fill), el('span', {class: 'num'}, percent(p, 1)));
        })));
  }));
  $('pair-section').hidden = false;
  $('pair-section').scrollIntoView({block: 'nearest'});
}

async function pollMetrics(generation) {
  const answer = await api(`${runPath(runState.id)}/metrics?since=${runState.next}`);
  if (!isCurrent(generation)) return;
  const rows = Array.isArray(answer.rows) ? answer.rows : [];
  for (const row of rows) runState.rows.push(row);
  if (isNumber(answer.next))
    runState.next = answer.next;
  else if (rows.length)
    runState.next = rows[rows.length - 1].step;
  if (isNumber(answer.planned_iterations)) runState.planned = answer.planned_iterations;
  runState.secondsLeft = isNumber(answer.seconds_left) ? answer.seconds_left : null;
  const before = runState.status;
  if (answer.status) runState.status = answer.status;
  if (rows.length || before !== runState.status) drawRunCharts();
  renderRunHeader();
  return before;
}

async function enterRun(target, generation) {
  Object.assign(runState, emptyRun(target.id));
  $('run-title').textContent = target.id;
  $('confusion-section').hidden = true;
  $('pair-section').hidden = true;
  $('run-settings').replaceChildren();
  drawRunCharts();

  const detail = await api(runPath(target.id));
  if (!isCurrent(generation)) return;
  runState.detail = detail;
  runState.status = detail.status;
  runState.planned = detail.planned_iterations ?? null;
  renderRunSettings();
  await pollMetrics(generation);
  if (!isCurrent(generation)) return;
  if (runState.status !== 'running') {
    drawRunCharts();
    await loadConfusion(generation);
    return;
  }
  // Live: one short request a second while the run trains (docs/serve.md says why polling).
  let failures = 0;
  while (isCurrent(generation) && runState.status === 'running') {
    await sleep(1000);
    if (!isCurrent(generation)) return;
    try {
      await pollMetrics(generation);
      if (failures) clearError();
      failures = 0;
    } catch (error) {
      failures++;
      showError(error);
    }
  }
  if (!isCurrent(generation)) return;
  // The run has ended: its record now has the final accuracies, perhaps a confusion matrix.
  runState.detail = await api(runPath(target.id));
  if (!isCurrent(generation)) return;
  renderRunSettings();
  renderRunHeader();
  await loadConfusion(generation);
}

// ---------------------------------------------------------------------------------------------
// Compare

async function allMetrics(id) {
  const rows = [];
  let since = 0;
  // The server returns every row after `since`; ask again only if it says there is more.
  for (let round = 0; round < 100; round++) {
    const answer = await api(`${runPath(id)}/metrics?since=${since}`);
    const got = Array.isArray(answer.rows) ? answer.rows : [];
    for (const row of got) rows.push(row);
    if (!got.length || !isNumber(answer.next) || answer.next <= since) break;
    since = answer.next;
    if (!answer.more) break;
  }
  return rows;
}

function displayValue(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return String(+value.toPrecision(6));
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

async function enterCompare(target, generation) {
  const ids = target.ids;
  $('compare-empty').hidden = ids.length > 0;
  $('compare-content').hidden = ids.length === 0;
  if (!ids.length) return;
  const runs = await Promise.all(ids.map(async (id) => {
    const [detail, rows] = await Promise.all([api(runPath(id)), allMetrics(id)]);
    return {id, detail, rows};
  }));
  if (!isCurrent(generation)) return;

  $('compare-legend').replaceChildren(...runs.map((run, i) => {
    const swatch = el('span', {class: 'swatch'});
    swatch.style.backgroundColor = palette[i % palette.length];
    return el(
        'li', {dataset: {runId: run.id}}, swatch,
        el('a', {href: '#/run/' + encodeURIComponent(run.id)}, run.id),
        el('span', {class: 'hint'}, run.detail.preset || run.detail.architecture || ''));
  }));
  const drawCompareCharts = () => {
    drawChart(
        $('compare-loss-chart'), runs.map((run, i) => ({
                                            color: palette[i % palette.length],
                                            points: smooth(lossPoints(run.rows)),
                                            width: 2
                                          })),
        {log: true, xLabel: 'iteration'});
    drawChart(
        $('compare-accuracy-chart'), runs.map((run, i) => ({
                                                color: palette[i % palette.length],
                                                points: validationPoints(run.rows),
                                                width: 2,
                                                dots: true
                                              })),
        {xLabel: 'iteration', clamp: [0, 1], yFormat: percentTick});
  };
  drawCompareCharts();
  compareRedraw = drawCompareCharts;

  // Settings side by side: the parsed command-line settings, then the results.
  const settingNames = [];
  for (const run of runs) {
    for (const name of Object.keys(run.detail.settings || {})) {
      if (!settingNames.includes(name)) settingNames.push(name);
    }
  }
  const rows = [
    ...['preset', 'architecture']
        .filter((n) => !settingNames.includes(n))
        .map((n) => [n, (d) => d[n]]),
    ...settingNames.map((n) => [n, (d) => (d.settings || {})[n]]),
    ['status', (d) => d.status],
    ['iterations', (d) => d.iterations],
    ['best validation accuracy', (d) => d.best_validation_accuracy],
    ['test accuracy', (d) => d.test_accuracy],
    ['training time (s)', (d) => d.training_seconds],
    ['threads per process', (d) => d.threads_per_process],
    ['version', (d) => d.version],
  ];
  const head = el('tr', {}, el('th', {}, 'setting'), ...runs.map((run) => el('th', {}, run.id)));
  const seen = new Set();
  const body =
      rows.map(([name, get]) => {
            if (seen.has(name)) return null;
            seen.add(name);
            const values = runs.map((run) => displayValue(get(run.detail)));
            if (values.every((v) => v === '')) return null;
            const differs = new Set(values).size > 1;
            return el(
                'tr', {class: differs ? 'differs' : '', dataset: {setting: name, differs: differs}},
                el('th', {}, name), ...values.map((v) => el('td', {}, v || '–')));
          })
          .filter(Boolean);
  $('compare-settings').replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
}

let compareRedraw = null;

// ---------------------------------------------------------------------------------------------
// Models (Draw and Inside share the chosen model)

const modelState = {
  models: [],
  chosen: null,
  loaded: false
};

async function loadModels() {
  const answer = await api('/api/models');
  modelState.models = Array.isArray(answer.models) ? answer.models : [];
  modelState.loaded = true;
  if (!modelState.models.some((m) => m.id === modelState.chosen)) {
    const preferred = modelState.models.find((m) => m.id === 'default') || modelState.models[0];
    modelState.chosen = preferred ? preferred.id : null;
  }
  for (const select of [$('model-select'), $('inside-model-select')]) {
    select.replaceChildren(...modelState.models.map((m) => {
      const shape = Array.isArray(m.input) ? ` · ${m.input.join('×')}` : '';
      return el(
          'option', {value: m.id, selected: m.id === modelState.chosen},
          `${m.name || m.id}${shape}`);
    }));
    select.disabled = modelState.models.length === 0;
  }
  if (!modelState.models.length) {
    showError(
        'No model to use: train a run (its folder gets model.safetensors) or start ' +
        'cnn serve with --model FILE.');
  }
}

function chooseModel(id) {
  modelState.chosen = id;
  $('model-select').value = id;
  $('inside-model-select').value = id;
}

$('model-select').addEventListener('change', (event) => {
  chooseModel(event.target.value);
  predictNow();
});
$('inside-model-select').addEventListener('change', (event) => {
  chooseModel(event.target.value);
  route();
});

// ---------------------------------------------------------------------------------------------
// Draw: classify as you draw, throttled (one request in flight, at most one every 150 ms, and
// always one more after the last stroke so the answer shown is for the finished drawing).

const pad = $('draw-canvas');
const padContext = pad.getContext('2d');
const drawState = {
  generation: 0,  // bumped by Clear and by a new picture: older answers are dropped
  inFlight: false,
  dirty: false,
  lastSent: 0,
  timer: null,
  hasInk: false,
  file: null,  // a dropped or chosen file, sent as it is until drawn over
  lastPrepared: null,
};

function clearPad() {
  padContext.save();
  padContext.setTransform(1, 0, 0, 1, 0, 0);
  padContext.fillStyle = '#ffffff';
  padContext.fillRect(0, 0, pad.width, pad.height);
  padContext.restore();
}

function resetResult() {
  $('predicted').textContent = '–';
  $('predicted').dataset.state = 'empty';
  $('predicted-confidence').textContent = '';
  $('probabilities').replaceChildren();
  const prepared = $('prepared').getContext('2d');
  prepared.clearRect(0, 0, $('prepared').width, $('prepared').height);
  drawState.lastPrepared = null;
}

function clearDrawing() {
  drawState.generation++;
  drawState.hasInk = false;
  drawState.file = null;
  drawState.dirty = false;
  clearTimeout(drawState.timer);
  clearPad();
  resetResult();
}

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return [
    (event.clientX - rect.left) * (pad.width / rect.width),
    (event.clientY - rect.top) * (pad.height / rect.height)
  ];
}

let stroke = null;  // {pointerId, last: [x, y]}

function strokeTo(point) {
  padContext.strokeStyle = '#000';
  padContext.fillStyle = '#000';
  padContext.lineWidth = 20;
  padContext.lineCap = 'round';
  padContext.lineJoin = 'round';
  padContext.beginPath();
  padContext.moveTo(stroke.last[0], stroke.last[1]);
  padContext.lineTo(point[0], point[1]);
  padContext.stroke();
  stroke.last = point;
}

pad.addEventListener('pointerdown', (event) => {
  if (event.button !== 0 && event.pointerType === 'mouse') return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  if (drawState.file) {  // drawing over a dropped picture: from now on the canvas is the input
    drawState.file = null;
  }
  pad.dataset.pointerType = event.pointerType;  // the last stroke's device, for the browser test
  const point = padPoint(event);
  stroke = {pointerId: event.pointerId, last: point};
  padContext.fillStyle = '#000';
  padContext.beginPath();
  padContext.arc(point[0], point[1], 10, 0, 2 * Math.PI);
  padContext.fill();
  drawState.hasInk = true;
  requestPrediction();
});
pad.addEventListener('pointermove', (event) => {
  if (!stroke || event.pointerId !== stroke.pointerId) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) strokeTo(padPoint(e));
  requestPrediction();
});
function endStroke(event) {
  if (!stroke || event.pointerId !== stroke.pointerId) return;
  stroke = null;
  requestPrediction();
}
pad.addEventListener('pointerup', endStroke);
pad.addEventListener('pointercancel', endStroke);

$('clear-button').addEventListener('click', clearDrawing);

async function showPicture(file) {
  clearDrawing();
  drawState.file = file;
  drawState.hasInk = true;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * scale;
    const h = bitmap.height * scale;
    padContext.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  } catch {
    // PGM/PPM: browsers cannot show them, the server still reads them.
    padContext.fillStyle = '#5d6678';
    padContext.font = '14px system-ui, sans-serif';
    padContext.textAlign = 'center';
    padContext.fillText(file.name, pad.width / 2, pad.height / 2);
  }
  predictNow();
}

$('file-input').addEventListener('change', (event) => {
  const file = event.target.files && event.target.files[0];
  if (file) showPicture(file).catch(showError);
  event.target.value = '';
});
pad.addEventListener('dragover', (event) => {
  event.preventDefault();
  pad.classList.add('dropping');
});
pad.addEventListener('dragleave', () => pad.classList.remove('dropping'));
pad.addEventListener('drop', (event) => {
  event.preventDefault();
  pad.classList.remove('dropping');
  const file = event.dataTransfer.files && event.dataTransfer.files[0];
  if (file) showPicture(file).catch(showError);
});

/** The picture to classify: the dropped file as it is, or the canvas as PNG. */
function currentPicture() {
  if (drawState.file) return Promise.resolve(drawState.file);
  return new Promise(
      (resolve, reject) => pad.toBlob(
          (blob) => (blob ? resolve(blob) : reject(new Error('the canvas gave no PNG'))),
          'image/png'));
}

function requestPrediction() {
  drawState.dirty = true;
  if (drawState.inFlight) return;  // sent again when the answer is in
  const wait = 150 - (performance.now() - drawState.lastSent);
  clearTimeout(drawState.timer);
  if (wait > 0)
    drawState.timer = setTimeout(sendPrediction, wait);
  else
    sendPrediction();
}

function predictNow() {
  drawState.dirty = true;
  if (!drawState.inFlight) sendPrediction();
}

async function sendPrediction() {
  if (!drawState.dirty || drawState.inFlight) return;
  if (!drawState.hasInk || !modelState.chosen) {
    drawState.dirty = false;
    return;
  }
  drawState.dirty = false;
  drawState.inFlight = true;
  drawState.lastSent = performance.now();
  const generation = drawState.generation;
  try {
    const picture = await currentPicture();
    const answer =
        await api(modelPath(modelState.chosen) + '/predict', {method: 'POST', body: picture});
    if (generation === drawState.generation) showPrediction(answer);
  } catch (error) {
    if (generation === drawState.generation) showError(error);
  } finally {
    drawState.inFlight = false;
    if (drawState.dirty) requestPrediction();
  }
}

function showPrediction(answer) {
  const names = answer.names || [];
  const probabilities = answer.probabilities || [];
  const name = (k) => (names[k] !== undefined ? String(names[k]) : String(k));
  const predicted = answer.name !== undefined ? String(answer.name) : name(answer.predicted);
  $('predicted').textContent = predicted;
  $('predicted').dataset.state = 'shown';
  $('predicted').dataset.class = String(answer.predicted);
  $('predicted-confidence').textContent =
      isNumber(probabilities[answer.predicted]) ? percent(probabilities[answer.predicted], 1) : '';
  $('probabilities').replaceChildren(...probabilities.map((p, k) => {
    const fill = el('div', {class: 'fill'});
    fill.style.width = (100 * p).toFixed(2) + '%';
    return el(
        'div', {class: 'bar' + (k === answer.predicted ? ' best' : ''), dataset: {class: k}},
        el('span', {class: 'name', title: name(k)}, name(k)), el('div', {class: 'track'}, fill),
        el('span', {class: 'value'}, percent(p, 1)));
  }));
  if (answer.prepared) {
    drawState.lastPrepared = answer.prepared;
    paintPrepared($('prepared'), answer.prepared);
  }
}

/** Paints {width, height, channels, pixels: [bytes]} (grey or RGB) onto a canvas, 1:1. */
function paintPrepared(canvas, prepared) {
  const {width, height, channels, pixels} = prepared;
  if (!width || !height || !Array.isArray(pixels)) return;
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext('2d');
  const image = g.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    let r, gr, b;
    if (channels === 3) {
      // Pixels are channel-major (C, H, W) as the network sees them.
      r = pixels[i];
      gr = pixels[width * height + i];
      b = pixels[2 * width * height + i];
    } else {
      r = gr = b = pixels[i];
    }
    image.data.set([r, gr, b, 255], 4 * i);
  }
  g.putImageData(image, 0, 0);
}

async function enterDraw(target, generation) {
  // Models appear as runs end: ask again each time the view opens.
  await loadModels();
  if (!isCurrent(generation)) return;
  const wanted = target.params && target.params.get('model');
  if (wanted && modelState.models.some((m) => m.id === wanted) && wanted !== modelState.chosen) {
    chooseModel(wanted);
    predictNow();
  }
}

// ---------------------------------------------------------------------------------------------
// Inside the network

/** A small canvas showing a w×h grid of values mapped to grey. */
function tile(values, offset, width, height, map) {
  const canvas = el('canvas', {width, height});
  const g = canvas.getContext('2d');
  const image = g.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, Math.min(255, Math.round(map(values[offset + i]))));
    image.data.set([v, v, v, 255], 4 * i);
  }
  g.putImageData(image, 0, 0);
  return canvas;
}

async function loadFilters(generation) {
  const answer = await api(modelPath(modelState.chosen) + '/filters');
  if (!isCurrent(generation)) return;
  const {out = 0, kh = 0, kw = 0, weights = []} = answer;
  const inputs = answer.in || 1;
  const largest = weights.reduce((m, w) => Math.max(m, Math.abs(w)), 0) || 1;
  const tiles = [];
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inputs; i++) {
      const canvas =
          tile(weights, (o * inputs + i) * kh * kw, kw, kh, (w) => 128 + 127 * (w / largest));
      canvas.title = inputs > 1 ? `filter ${o}, input channel ${i}` : `filter ${o}`;
      tiles.push(canvas);
    }
  }
  $('filters-title').textContent = `The first convolution's ${out} filters of ` +
      `${inputs}×${kh}×${kw}` + (answer.layer ? ` · ${answer.layer}` : '');
  $('filters').replaceChildren(...tiles);
  $('filters').dataset.tiles = String(tiles.length);
}

/** "layer 3 Conv2D(...)": the server's layer names may start with their index already. */
function layerTitle(layer) {
  const name = layer.name || 'convolution';
  if (layer.index === undefined || name.startsWith(String(layer.index))) return name;
  return `${layer.index} ${name}`;
}

async function loadFeatures(generation) {
  const features = $('features');
  if (!drawState.hasInk) {
    features.replaceChildren();
    features.dataset.layers = '0';
    $('features-hint').hidden = false;
    $('inside-prepared').hidden = true;
    return;
  }
  const picture = await currentPicture();
  const answer =
      await api(modelPath(modelState.chosen) + '/features', {method: 'POST', body: picture});
  if (!isCurrent(generation)) return;
  $('features-hint').hidden = true;
  $('inside-prepared').hidden = !drawState.lastPrepared;
  if (drawState.lastPrepared) paintPrepared($('inside-prepared'), drawState.lastPrepared);
  const layers = answer.layers || [];
  const shownPerLayer = 64;
  features.replaceChildren(...layers.map((layer) => {
    const {channels = 0, height = 0, width = 0, values = []} = layer;
    const maps = [];
    for (let c = 0; c < Math.min(channels, shownPerLayer); c++) {
      const offset = c * height * width;
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < height * width; i++) {
        lo = Math.min(lo, values[offset + i]);
        hi = Math.max(hi, values[offset + i]);
      }
      const span = hi - lo || 1;
      const canvas = tile(values, offset, width, height, (v) => (255 * (v - lo)) / span);
      // Small maps are drawn 6 screen pixels a value, larger ones at most 96 pixels wide.
      canvas.style.width = `${Math.min(96, 6 * width)}px`;
      canvas.style.height = `${Math.min(96, 6 * width) * (height / width)}px`;
      canvas.title = `channel ${c}: ${lo.toPrecision(3)} to ${hi.toPrecision(3)}`;
      maps.push(canvas);
    }
    const more = channels > shownPerLayer ?
        el('span', {class: 'hint'}, ` (first ${shownPerLayer} of ${channels} shown)`) :
        null;
    return el(
        'div', {class: 'layer', dataset: {index: layer.index}},
        el('h3', {}, `${channels} maps of ${height}×${width} · ${layerTitle(layer)}`, more),
        el('div', {class: 'maps'}, ...maps));
  }));
  features.dataset.layers = String(layers.length);
}

async function enterInside(target, generation) {
  await loadModels();
  if (!isCurrent(generation) || !modelState.chosen) return;
  await Promise.all([loadFilters(generation), loadFeatures(generation)]);
}

// ---------------------------------------------------------------------------------------------
// Start

const viewEnter = {
  runs: enterRuns,
  run: enterRun,
  compare: enterCompare,
  draw: enterDraw,
  inside: enterInside
};
const viewLeave = {
  runs: () => clearInterval(runsState.timer),
  compare: () => {
    compareRedraw = null;
  },
};

let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (currentView === 'run') drawRunCharts();
    if (currentView === 'compare' && compareRedraw) compareRedraw();
  }, 100);
});

window.addEventListener('hashchange', route);
clearPad();
resetResult();
route();
