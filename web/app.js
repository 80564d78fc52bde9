// The appcore dashboard: one page, the JSON API and the live stream.
// Everything from the daemon is inserted as text, never as HTML.  Times
// are shown in one zone, named beside them; the page's state (board,
// counters, range, crash, zone) is in the URL so a link opens the same
// view.
import {
  ago, fmtTime, fmtValue, hex32, parseOffset, parseTime, rateUnit, zoneName,
} from './format.js';
import { asRate, makeChart, withGaps } from './charts.js';

const LIVE_WINDOW_S = 30;
const STREAM_HZ_MAX = 50;		// the stream's samples per board
const $ = (id) => document.getElementById(id);

const saved = {
  get(k, dflt) {
    try { const v = localStorage.getItem(`appcore.${k}`); return v === null ? dflt : v; } catch { return dflt; }
  },
  set(k, v) {
    try { if (v === null) localStorage.removeItem(`appcore.${k}`); else localStorage.setItem(`appcore.${k}`, v); } catch { /* private mode */ }
  },
};

const state = {
  zone: saved.get('zone', 'utc'),
  devices: null, selected: null, device: null,
  token: saved.get('token', null),
  stream: null,
  picks: [], asRate: false, filter: '',
  live: null, liveT: [], liveV: [], redraw: false,
  hist: { span: 600, follow: true, from: 0, to: 0, zoomed: false, chart: null, marks: [] },
  crashes: [], shownCrash: null,
  rateDirty: false,
  mem: { header: null },
};

// ---- the daemon ----

let downSince = 0;

function daemonUp(up) {
  const b = $('daemon-down');
  if (up) {
    downSince = 0;
    b.hidden = true;
    return;
  }
  if (!downSince) downSince = Date.now() * 1000;
  b.hidden = false;
  b.textContent = `appcored is not answering at ${location.host} since ` +
    `${fmtTime(downSince, state.zone, false)} ${zoneName(state.zone)}: retrying every 5 s.`;
}

// The token: kept in this browser (localStorage) and in a cookie that
// the stream and downloads carry; control sends it as a header.
function rememberToken(t) {
  state.token = t || null;
  saved.set('token', state.token);
  document.cookie = state.token ?
    `appcore_token=${encodeURIComponent(t)}; path=/; max-age=2592000; SameSite=Strict` :
    'appcore_token=; path=/; max-age=0; SameSite=Strict';
  $('sign-out').hidden = !state.token;
  if (state.token && state.stream && state.stream.readyState === EventSource.CLOSED) connect();
}

let tokenAsked = null;

function askToken(why) {
  return new Promise((resolve) => {
    const dlg = $('token-dialog');
    $('token-why').textContent = why;
    $('token').value = '';
    dlg.onclose = () => resolve(dlg.returnValue === 'ok' ? $('token').value.trim() : null);
    dlg.showModal();
  });
}

// One dialog at a time, however many requests were refused.
async function tokenFor(why) {
  if (!tokenAsked) tokenAsked = askToken(why).finally(() => { tokenAsked = null; });
  const t = await tokenAsked;
  if (t) rememberToken(t);
  return t;
}

async function api(path, opts = {}, retried = false) {
  let r;
  try {
    r = await fetch(path, opts);
  } catch (e) {
    daemonUp(false);
    throw new Error(`appcored is not answering (${e.message})`);
  }
  daemonUp(true);
  const ctype = r.headers.get('Content-Type') || '';
  const body = ctype.startsWith('application/json') ? await r.json() : await r.text();
  if (r.status === 401 && !retried) {
    const t = await tokenFor(body && body.error ? body.error.message : 'appcored asks for its API token.');
    if (t) {
      const headers = { ...(opts.headers || {}), Authorization: `Bearer ${t}` };
      return api(path, { ...opts, headers }, true);
    }
  }
  if (!r.ok) {
    const e = new Error(body && body.error ? body.error.message : `HTTP ${r.status}`);
    e.status = r.status;
    throw e;
  }
  return body;
}

const authHeaders = () => (state.token ? { Authorization: `Bearer ${state.token}` } : {});

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function fact(dl, name, value, title) {
  const d = el('div');
  const dd = el('dd', value);
  if (title) dd.title = title;
  d.append(el('dt', name), dd);
  dl.append(d);
}

const when = (us, ms = true) => `${fmtTime(us, state.zone, ms)}`;

// ---- the URL: #board=1&counters=0,3&span=3600&from=..&to=..&crash=7 ----

function readLink() {
  const p = new URLSearchParams(location.hash.slice(1));
  const n = (k) => (p.has(k) && /^\d+$/.test(p.get(k)) ? Number(p.get(k)) : null);
  return {
    board: n('board'), crash: n('crash'), span: n('span'), from: n('from'), to: n('to'),
    counters: p.has('counters') ? p.get('counters').split(',').filter((x) => /^\d+$/.test(x)).map(Number) : null,
    rate: p.get('rate') === '1', zone: ['utc', 'local'].includes(p.get('zone')) ? p.get('zone') : null,
  };
}

function writeLink() {
  if (state.selected === null) return;
  const p = new URLSearchParams();
  p.set('board', state.selected);
  if (state.picks.length) p.set('counters', state.picks.join(','));
  if (state.asRate) p.set('rate', '1');
  if (state.hist.follow) p.set('span', state.hist.span);
  else { p.set('from', Math.round(state.hist.from)); p.set('to', Math.round(state.hist.to)); }
  if (state.shownCrash) p.set('crash', state.shownCrash);
  p.set('zone', state.zone);
  history.replaceState(null, '', `#${p}`);
}

let pending = readLink();

// ---- the zone ----

function setZone(z) {
  state.zone = z;
  saved.set('zone', z);
  $('zone').value = z;
  $('zone-name').textContent = zoneName(z);
  document.body.dataset.zone = zoneName(z);
  if (state.device) {
    buildLive();
    showHistRange();
    loadHistory();
    loadLogs();
    loadCrashes();
    if (state.shownCrash) showCrash(state.shownCrash);
  }
  writeLink();
}

// ---- boards ----

async function loadDevices() {
  let b;
  try {
    b = await api('/api/v1/devices');
  } catch (e) {
    if (state.devices === null) $('empty').textContent = e.message;
    return;
  }
  state.devices = b.devices;
  const ul = $('devices');
  ul.replaceChildren();
  for (const d of state.devices) {
    const bt = el('button');
    bt.type = 'button';
    bt.append(el('span', `${d.name} `), el('span', d.connected ? d.state : 'offline',
      `badge ${d.connected ? d.state : 'off'}`));
    bt.setAttribute('aria-current', String(d.id === state.selected));
    bt.onclick = () => select(d.id);
    const li = el('li');
    li.append(bt);
    ul.append(li);
  }
  $('empty').textContent = 'No board yet: appcored shows boards as their agents say HELLO.';
  $('empty').hidden = state.devices.length > 0;
  if (state.selected === null && state.devices.length > 0) {
    const want = pending.board !== null && state.devices.some((d) => d.id === pending.board) ?
      pending.board : state.devices[0].id;
    select(want);
  }
}

async function select(id) {
  const link = pending;
  pending = { counters: null };
  state.selected = id;
  state.device = null;
  state.rateDirty = false;
  state.shownCrash = null;
  $('crash-panel').hidden = true;
  $('device').hidden = false;
  for (const b of $('devices').querySelectorAll('button'))
    b.setAttribute('aria-current', 'false');
  state.asRate = link.rate || false;
  $('as-rate').checked = state.asRate;
  if (link.from !== null && link.to !== null && link.to > link.from) {
    Object.assign(state.hist, { follow: false, from: link.from, to: link.to, zoomed: false });
  } else {
    Object.assign(state.hist, { follow: true, span: link.span || state.hist.span, zoomed: false });
  }
  $('hist-follow').checked = state.hist.follow;
  await refreshDevice(true, link.counters);
  loadDevices();
  loadLogs();
  $('core1-status').textContent = '';
  $('core1-progress').hidden = true;
  loadCore1();
  await loadCrashes();
  loadHistory();
  if (link.crash) showCrash(link.crash);
  writeLink();
}

async function refreshDevice(rebuild, picks = null) {
  if (state.selected === null) return;
  let d;
  try {
    d = await api(`/api/v1/devices/${state.selected}`);
  } catch (e) {
    $('dev-name').textContent = `board ${state.selected}`;
    $('stale-note').hidden = false;
    $('stale-note').textContent = e.message;
    $('device').classList.add('stale');
    return;
  }
  const newSnapshot = !state.device || state.device.id !== d.id ||
    state.device.last_snapshot_us !== d.last_snapshot_us;
  state.device = d;
  $('dev-name').textContent = d.name;
  setState(d.connected ? d.state : 'offline');
  showStaleness(d);
  const dl = $('dev-facts');
  dl.replaceChildren();
  fact(dl, 'heartbeat', `${fmtValue(d.heartbeat_rate, '', 3)} /s`);
  fact(dl, 'sample rate', `${d.rate_hz} Hz`);
  fact(dl, 'link', `${d.link}${d.connected ? '' : ' (down)'}`);
  fact(dl, 'last data', d.last_sample_us ? when(d.last_sample_us, false) : 'none yet');
  fact(dl, 'boot', d.boot);
  fact(dl, 'agent', d.agent_version);
  fact(dl, 'received', fmtValue(d.link_health.rx_bytes, 'bytes'), `${d.link_health.rx_bytes} bytes`);
  fact(dl, 'frames', fmtValue(d.link_health.frames, ''), String(d.link_health.frames));
  fact(dl, 'CRC errors', String(d.link_health.crc_errors));
  fact(dl, 'sequence gaps', String(d.link_health.seq_gaps));
  fact(dl, 'samples lost', String(d.link_health.samples_lost + d.link_health.agent_samples_dropped));
  // The rate field shows the board's rate until someone edits it.
  if (!state.rateDirty && document.activeElement !== $('rate-hz')) $('rate-hz').value = d.rate_hz;
  renderValues(d.counters);
  if (rebuild) buildPicks(d.counters, picks);
  if (newSnapshot && d.last_snapshot_us > 0) loadRegion();
}

function setState(s) {
  const b = $('dev-state');
  b.textContent = s;
  b.className = `badge ${s === 'offline' ? 'off' : s}`;
}

// A board whose link is down keeps its last values on screen, greyed,
// with when they were true.
function showStaleness(d) {
  const now = Date.now() * 1000;
  const quiet = d.connected && d.last_sample_us && now - d.last_sample_us > 3e6;
  const stale = !d.connected || quiet;
  $('device').classList.toggle('stale', stale);
  const note = $('stale-note');
  note.hidden = !stale;
  if (!stale) return;
  const last = d.last_sample_us ?
    `last data at ${when(d.last_sample_us, false)} ${zoneName(state.zone)} (${ago(d.last_sample_us, now)})` :
    'no data yet';
  note.textContent = d.connected ? `No samples arriving: ${last}.` : `Link down: ${last}.  The values below are from then.`;
}

function renderValues(counters) {
  const tb = $('values').tBodies[0];
  tb.replaceChildren();
  for (const c of counters) {
    const tr = el('tr');
    const v = el('td', fmtValue(c.value, c.unit, 4));
    v.title = `${c.value} ${c.unit}`;
    tr.append(el('td', c.name), v,
      el('td', c.kind === 'counter' ? fmtValue(c.rate, rateUnit(c.unit), 3) : ''));
    tb.append(tr);
  }
}

// ---- choosing counters ----

const pinnedKey = () => `pinned.${state.device ? state.device.name : ''}`;
const pinned = () => new Set((saved.get(pinnedKey(), '') || '').split(',').filter(Boolean));

function buildPicks(counters, want) {
  const valid = (want || []).filter((i) => counters.some((c) => c.index === i));
  if (valid.length) state.picks = valid;
  else {
    // Start with the pinned, else the gauges: they move; counters climb.
    const pins = counters.filter((c) => pinned().has(c.name)).map((c) => c.index);
    const gauges = counters.filter((c) => c.kind === 'gauge').map((c) => c.index);
    state.picks = (pins.length ? pins : gauges.length ? gauges : counters.map((c) => c.index)).slice(0, 3);
  }
  renderPicker();
  const sel = $('hist-counter');
  sel.replaceChildren();
  for (const c of counters) {
    const o = el('option', `${c.name} (${c.unit})`);
    o.value = c.index;
    sel.append(o);
  }
  if (state.picks.length) sel.value = state.picks[0];
  buildLive();
}

// Grouped by the name's first part ("audio.frames": audio), pinned first,
// filtered by the search box.
function renderPicker() {
  const counters = state.device ? state.device.counters : [];
  const pins = pinned();
  const box = $('picks');
  box.replaceChildren();
  const f = state.filter.toLowerCase();
  const shown = counters.filter((c) => !f || c.name.toLowerCase().includes(f));
  const groups = new Map();
  for (const c of shown) {
    const g = pins.has(c.name) ? '★ pinned' : (c.name.includes('.') ? c.name.split('.')[0] : 'other');
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(c);
  }
  const names = [...groups.keys()].sort((a, b) => (a === '★ pinned' ? -1 : b === '★ pinned' ? 1 : a.localeCompare(b)));
  for (const g of names) {
    const fs = el('fieldset');
    fs.append(el('legend', g));
    for (const c of groups.get(g)) {
      const l = el('label');
      const cb = el('input');
      cb.type = 'checkbox';
      cb.checked = state.picks.includes(c.index);
      cb.onchange = () => {
        state.picks = cb.checked ? [...state.picks, c.index] : state.picks.filter((i) => i !== c.index);
        summarisePicks();
        buildLive();
        writeLink();
      };
      const pin = el('button', pins.has(c.name) ? '★' : '☆', 'pin');
      pin.type = 'button';
      pin.title = pins.has(c.name) ? `unpin ${c.name}` : `pin ${c.name}`;
      pin.setAttribute('aria-label', pin.title);
      pin.onclick = () => {
        const p = pinned();
        if (p.has(c.name)) p.delete(c.name); else p.add(c.name);
        saved.set(pinnedKey(), [...p].join(','));
        renderPicker();
      };
      l.append(cb, document.createTextNode(` ${c.name} `), el('span', c.unit, 'unit'));
      const row = el('div', undefined, 'pick');
      row.append(l, pin);
      fs.append(row);
    }
    box.append(fs);
  }
  if (!shown.length) box.append(el('p', `no counter matches "${state.filter}"`));
  summarisePicks();
}

function summarisePicks() {
  const counters = state.device ? state.device.counters : [];
  const names = state.picks.map((i) => (counters.find((c) => c.index === i) || { name: `#${i}` }).name);
  $('picks-summary').textContent = `${names.length} of ${counters.length}` +
    (names.length ? `: ${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}` : '');
}

// ---- live chart ----

function chartWidth(id) {
  const box = $(id);
  return Math.max(240, (box.clientWidth || 800) - 2);
}

const counterOf = (i) => state.device.counters.find((c) => c.index === i);
const shownAsRate = (c) => state.asRate && c && c.kind === 'counter';

function liveSeries() {
  return state.picks.map((i) => {
    const c = counterOf(i) || { name: `#${i}`, unit: '', kind: 'gauge' };
    return { label: c.name, unit: shownAsRate(c) ? rateUnit(c.unit) : c.unit };
  });
}

function buildLive() {
  if (!state.device) return;
  if (state.live) state.live.destroy();
  state.live = null;
  state.liveT = [];
  state.liveV = state.picks.map(() => []);
  const box = $('live-chart');
  box.replaceChildren();
  box.dataset.points = '0';
  if (!state.picks.length) {
    box.append(el('p', 'Choose counters to chart above.', 'note'));
    return;
  }
  state.live = makeChart(box, liveSeries(), liveData(), {
    zone: state.zone, width: chartWidth('live-chart'), height: 260,
  });
}

// Samples further apart than a few stream periods are an outage: the
// line breaks there.
function liveGap() {
  const hz = Math.min(state.device ? state.device.rate_hz || 1 : 1, STREAM_HZ_MAX);
  return Math.max(1, 4 / hz);
}

function liveData() {
  const cols = [state.liveT, ...state.picks.map((i, k) => (shownAsRate(counterOf(i)) ?
    asRate(state.liveT, state.liveV[k]) : state.liveV[k]))];
  const out = withGaps(cols, liveGap());
  const box = $('live-chart');
  box.dataset.gaps = String(out[0].length - state.liveT.length);
  return out;
}

function onSample(ev) {
  const s = JSON.parse(ev.data);
  if (s.device !== state.selected || !state.live) return;
  const t = s.t / 1e6;
  state.liveT.push(t);
  state.picks.forEach((idx, k) => state.liveV[k].push(s.values[idx] ?? null));
  while (state.liveT.length && state.liveT[0] < t - LIVE_WINDOW_S) {
    state.liveT.shift();
    for (const col of state.liveV) col.shift();
  }
  const box = $('live-chart');
  box.dataset.points = String(state.liveT.length);
  box.dataset.lastT = String(s.t);
  // Samples come at up to 50 Hz per board; draw once per frame at most.
  if (!state.redraw) {
    state.redraw = true;
    requestAnimationFrame(() => {
      state.redraw = false;
      if (state.live) state.live.setData(liveData());
    });
  }
}

// ---- history ----

function showHistRange() {
  const h = state.hist;
  if (h.follow) {
    h.to = Date.now() * 1000;
    h.from = h.to - h.span * 1e6;
  }
  $('hist-from').value = fmtTime(h.from, state.zone, false);
  $('hist-to').value = fmtTime(h.to, state.zone, false);
  $('hist-reset').hidden = !h.zoomed;
  for (const b of document.querySelectorAll('.presets button'))
    b.setAttribute('aria-pressed', String(h.follow && !h.zoomed && Number(b.dataset.range) === h.span));
}

async function histMarks(from, to) {
  const marks = [];
  try {
    const e = await api(`/api/v1/devices/${state.selected}/events?from=${from}&to=${to}` +
      '&limit=1000&kind=boot,link-up,link-down');
    for (const x of e.events) marks.push({ t: x.t / 1e6, kind: x.kind });
  } catch (e) { /* the chart still draws */ }
  for (const c of state.crashes)
    if (c.t >= from && c.t <= to) marks.push({ t: c.t / 1e6, kind: 'crash' });
  return marks;
}

let histSeq = 0;

async function loadHistory() {
  if (state.selected === null || $('hist-counter').value === '' || !state.device) return;
  showHistRange();
  const h = state.hist;
  const idx = Number($('hist-counter').value);
  const c = counterOf(idx);
  const from = Math.floor(h.from), to = Math.ceil(h.to);
  const seq = ++histSeq;
  let r;
  try {
    r = await api(`/api/v1/devices/${state.selected}/counters/${idx}/history?from=${from}&to=${to}`);
  } catch (e) {
    $('hist-note').textContent = e.message;
    return;
  }
  const marks = await histMarks(from, to);
  if (seq !== histSeq) return;			// a newer request went out
  const t = r.points.map((p) => p[0] / 1e6);
  const rate = shownAsRate(c);
  const mean = r.points.map((p) => p[3]);
  const cols = rate ? [t, asRate(t, mean)] :
    [t, r.points.map((p) => p[1]), r.points.map((p) => p[2]), mean];
  const gap = Math.max(2.5 * r.step / 1e6, 4 / Math.max(state.device.rate_hz || 1, 1));
  const data = withGaps(cols, gap);
  const box = $('hist-chart');
  box.dataset.gaps = String(data[0].length - t.length);
  box.dataset.points = String(t.length);
  box.dataset.marks = JSON.stringify(marks);
  box.dataset.from = String(from);
  box.dataset.to = String(to);
  const unit = rate ? rateUnit(c.unit) : c.unit;
  $('hist-note').textContent = `${c.name}: ${r.points.length} buckets of ${fmtValue(r.step, 'us')} ` +
    `from ${r.source} data, ${when(from, false)} to ${when(to, false)} ${zoneName(state.zone)}` +
    sparseNote(r, from, to);
  if (h.chart) h.chart.destroy();
  box.replaceChildren();
  const grey = { stroke: '#9aa6c0', dash: [] };
  const series = rate ? [{ label: `${c.name} per second`, unit, width: 2 }] :
    [{ label: 'min', unit, style: grey }, { label: 'max', unit, style: grey },
      { label: 'mean', unit, width: 2, style: { stroke: '#1f77b4', dash: [] } }];
  h.marks = marks;
  h.chart = makeChart(box, series, data, {
    zone: state.zone, width: chartWidth('hist-chart'), height: 260,
    range: [from / 1e6, to / 1e6], marks: () => h.marks,
    bands: rate ? undefined : [{ series: [2, 1], fill: 'rgba(31,119,180,.12)' }],
    onSelect: (a, b) => zoomTo(a * 1e6, b * 1e6),
  });
}

// A long range whose data fills a small part of it (a week asked, an
// hour stored) would draw as a dot: say where the data is, and offer to
// fit the range to it.
function sparseNote(r, from, to) {
  const fit = $('hist-fit');
  fit.hidden = true;
  if (!r.points.length) return ': no data in this range';
  const first = r.points[0][0], last = r.points[r.points.length - 1][0] + r.step;
  if (last - first >= (to - from) / 2) return '';
  const pad = Math.max(r.step, (last - first) / 10, 5e6);
  const fitNow = () => zoomTo(Math.max(from, first - pad), Math.min(to, last + pad));
  fit.hidden = false;
  fit.onclick = () => { state.hist.fitPasses = 3; fitNow(); };
  // A fit to coarse buckets is refined with the finer ones it brings.
  if (state.hist.fitPasses > 0) {
    state.hist.fitPasses--;
    setTimeout(fitNow, 0);
  }
  return `; data only from ${when(first, false)} to ${when(last, false)}`;
}

function zoomTo(from, to) {
  if (from === state.hist.from && to === state.hist.to) {
    state.hist.fitPasses = 0;	/* as fitted as it gets */
    return;
  }
  Object.assign(state.hist, { follow: false, zoomed: true, from, to });
  $('hist-follow').checked = false;
  writeLink();
  loadHistory();
}

function preset(span) {
  Object.assign(state.hist, { span, follow: true, zoomed: false, fitPasses: 0 });
  $('hist-follow').checked = true;
  writeLink();
  loadHistory();
}

function showTypedRange(ev) {
  ev.preventDefault();
  const from = parseTime($('hist-from').value, state.zone);
  const to = parseTime($('hist-to').value, state.zone);
  if (Number.isNaN(from) || Number.isNaN(to) || to <= from) {
    $('hist-note').textContent = `Times are YYYY-MM-DD HH:MM:SS in ${zoneName(state.zone)}, "from" before "to".`;
    return;
  }
  Object.assign(state.hist, { follow: false, zoomed: false, from, to, fitPasses: 0 });
  $('hist-follow').checked = false;
  writeLink();
  loadHistory();
}

// ---- log, crashes ----

// A line of appcore's log ring, or of a core-1 RTT channel ("rtt0
// Terminal", its bytes in hex when the channel is binary).
function addLog(level, text, t, front = true, channel = null, binary = false) {
  const tag = channel ? `[${channel}${binary ? ', hex' : ''}]  ` : '';
  const li = el('li', `${when(t)}  ${level.padEnd(5)}  ${tag}${text}`, level);
  if (channel) li.classList.add('rtt');
  const ol = $('log');
  if (front) ol.prepend(li); else ol.append(li);
  while (ol.children.length > 300) ol.lastChild.remove();
}

async function loadLogs() {
  if (state.selected === null) return;
  try {
    const b = await api(`/api/v1/devices/${state.selected}/logs?limit=100`);
    $('log').replaceChildren();
    for (const l of b.logs) addLog(l.level, l.text, l.t, false, l.channel, l.binary);
  } catch (e) { /* shown by the next event */ }
}

// "mixer.c:217", or what a hang has instead of a source line.
const where = (c) => (c.file ? `${c.file}:${c.line}` : c.kind === 'hang' ? 'no source line (a hang)' : 'unknown');

async function loadCrashes() {
  try {
    const b = await api(`/api/v1/crashes?device=${state.selected}&limit=50`);
    state.crashes = b.crashes;
  } catch (e) {
    return;
  }
  const ul = $('crashes');
  ul.replaceChildren();
  if (!state.crashes.length) ul.append(el('li', 'none'));
  for (const c of state.crashes) {
    const b = el('button', `#${c.id}  ${when(c.t, false)}  ${c.reason}: ${c.message}  (${where(c)})`);
    b.type = 'button';
    b.onclick = () => showCrash(c.id);
    const li = el('li');
    li.className = 'crash';
    li.append(b);
    ul.append(li);
  }
}

const SVG = 'http://www.w3.org/2000/svg';

// A sparkline of bucket means: plain SVG, no library.
function sparkline(points, w = 160, h = 24) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', w);
  svg.setAttribute('height', h);
  svg.setAttribute('class', 'spark');
  if (points.length < 2) return svg;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  let lo = Infinity, hi = -Infinity;
  for (const p of points) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[2]); }
  const y = (v) => (hi === lo ? h / 2 : h - 2 - (v - lo) / (hi - lo) * (h - 4));
  const x = (t) => (t - t0) / (t1 - t0 || 1) * (w - 2) + 1;
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points.map((p) => `${x(p[0]).toFixed(1)},${y(p[3]).toFixed(1)}`).join(' '));
  svg.append(line);
  return svg;
}

function scroller(child) {
  const d = el('div', undefined, 'scroll-x');
  d.append(child);
  return d;
}

function reportTables(box, r) {
  box.append(el('h4', 'Core 1 before the crash'));
  const states = el('ul', undefined, 'states');
  for (const s of r.states)
    states.append(el('li', `${when(s.t)}  ${s.prev} \u2192 ${s.state}  (heartbeat ${s.heartbeat})`));
  if (!r.states.length) states.append(el('li', 'no state change recorded'));
  box.append(states);

  box.append(el('h4', `Counters over the ${r.window_us / 1e6} s before the crash`));
  const tbl = el('table', undefined, 'report-counters');
  const head = el('tr');
  for (const h of ['counter', '', 'first', 'last', 'min', 'max']) head.append(el('th', h));
  tbl.append(head);
  for (const k of r.counters) {
    const tr = el('tr');
    const p = k.points;
    const td = el('td');
    td.append(sparkline(p));
    tr.append(el('td', k.name), td);
    if (p.length) {
      const lo = Math.min(...p.map((q) => q[1])), hi = Math.max(...p.map((q) => q[2]));
      for (const v of [p[0][3], p[p.length - 1][3], lo, hi]) tr.append(el('td', fmtValue(v, k.unit, 4), 'num'));
    } else {
      const n = el('td', 'no samples');
      n.colSpan = 4;
      tr.append(n);
    }
    tbl.append(tr);
  }
  box.append(scroller(tbl));

  const d = r.region_diff;
  box.append(el('h4', 'Shared region: the dump against the last snapshot'));
  if (!d.available) {
    box.append(el('p', `no diff: ${d.why}`));
    return;
  }
  box.append(el('p', `${d.changed_bytes} of ${d.size} bytes changed since ${when(d.before_t)}, ` +
    `in ${d.range_count} ranges${d.range_count > d.ranges.length ? ` (first ${d.ranges.length} shown)` : ''}`));
  const dt = el('table', undefined, 'report-diff');
  const dh = el('tr');
  for (const h of ['address', 'bytes', 'before', 'after']) dh.append(el('th', h));
  dt.append(dh);
  for (const g of d.ranges) {
    const tr = el('tr');
    tr.append(el('td', hex32(g.address)), el('td', String(g.length), 'num'),
      el('td', g.before, 'hex'), el('td', g.after, 'hex'));
    dt.append(tr);
  }
  box.append(scroller(dt));
}

// "mixer_process+0x2d  core1.c:14", or the bare address.
function frameText(f) {
  let t = f.function ? `${f.function}+0x${f.offset.toString(16)}` : '';
  if (f.file) t += `${t ? '  ' : ''}${f.file}:${f.line}`;
  return t;
}

function framesTable(sym) {
  const tbl = el('table', undefined, 'frames');
  const head = el('tr');
  for (const h of ['', 'address', 'function', 'source']) head.append(el('th', h));
  tbl.append(head);
  const rows = [['pc', sym.pc], ...sym.backtrace.map((f, i) => [`#${i}`, f])];
  for (const [k, f] of rows) {
    if (!f) continue;
    const tr = el('tr');
    tr.append(el('td', k),
      el('td', f.call !== undefined ? `${hex32(f.address)} (call ${hex32(f.call)})` : hex32(f.address), 'hex'),
      el('td', f.function ? `${f.function}+0x${f.offset.toString(16)}` : '?'),
      el('td', f.file ? `${f.file}:${f.line}` : ''));
    tbl.append(tr);
  }
  return scroller(tbl);
}

// Names for a crash: its core-1 ELF, refused unless it is the image the
// crash ran (the daemon checks the SHA-256 against the image hash).
function elfUpload(id) {
  const p = el('p', undefined, 'elf-upload');
  const input = el('input');
  input.type = 'file';
  input.id = 'elf-file';
  input.setAttribute('aria-label', 'core-1 ELF');
  const msg = el('span', '', 'elf-result');
  const label = el('label', 'Add the core-1 ELF for names: ');
  label.append(input);
  p.append(label, document.createTextNode(' '), msg);
  input.onchange = async () => {
    const f = input.files[0];
    if (!f) return;
    try {
      await api(`/api/v1/images?crash=${id}&name=${encodeURIComponent(f.name)}`, {
        method: 'POST',
        headers: { ...authHeaders(), 'Content-Type': 'application/octet-stream' },
        body: await f.arrayBuffer(),
      });
      showCrash(id);
    } catch (e) {
      msg.textContent = e.message;
    }
  };
  return p;
}

function crashFacts(c, sym) {
  const dl = el('dl', undefined, 'facts');
  fact(dl, 'when', `${when(c.t)} ${zoneName(state.zone)}`);
  fact(dl, 'kind', `${c.kind} (${c.reason})`);
  fact(dl, 'where', where(c));
  if (c.exccause !== null && c.exccause !== undefined)
    fact(dl, 'EXCCAUSE', `${c.exccause} ${c.exccause_name}`);
  if (c.excvaddr !== null && c.excvaddr !== undefined) fact(dl, 'EXCVADDR', hex32(c.excvaddr));
  fact(dl, 'PC', `${hex32(c.pc)}  ${sym.pc ? frameText(sym.pc) : ''}`);
  fact(dl, 'SP', hex32(c.sp));
  if (c.ps !== undefined) fact(dl, 'PS', hex32(c.ps));
  fact(dl, 'image', c.image_hash.slice(0, 16), c.image_hash);
  fact(dl, 'symbols', sym.available ? `${sym.image}${sym.dwarf ? ' (DWARF)' : ''}` : sym.why);
  fact(dl, 'dump', c.dump_sha256 ? `${fmtValue(c.dump_size, 'bytes')}, sha256 ${c.dump_sha256.slice(0, 16)}` :
    'on its way from the board');
  return dl;
}

function crashDownloads(box, c, r) {
  if (c.dump_sha256) {
    const dump = el('a', 'Download dump (raw region)');
    dump.href = `/api/v1/crashes/${c.id}/dump`;
    dump.className = 'button';
    dump.setAttribute('download', `crash-${c.id}-region.bin`);
    const elf = el('a', 'ELF core (for GDB)');
    elf.href = `/api/v1/crashes/${c.id}/dump?format=elf`;
    elf.className = 'button';
    elf.setAttribute('download', `crash-${c.id}-core.elf`);
    box.append(dump, document.createTextNode(' '), elf, document.createTextNode(' '));
  }
  const dlb = el('button', 'Download report (JSON)');
  dlb.type = 'button';
  dlb.onclick = () => {
    const a = el('a');
    a.href = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' }));
    a.download = `crash-${c.id}.json`;
    a.click();
    URL.revokeObjectURL(a.href);
  };
  box.append(dlb);
}

// The crash at its own full-width panel, with its neighbours a click away.
async function showCrash(id) {
  let r;
  try {
    r = await api(`/api/v1/crashes/${id}/report`);
  } catch (e) {
    $('crash-panel').hidden = false;
    $('crash-title').textContent = `Crash #${id}`;
    $('crash-detail').replaceChildren(el('p', e.message));
    return;
  }
  const c = r.crash;
  const sym = r.symbols;
  state.shownCrash = c.id;
  const dev = (state.devices || []).find((d) => d.id === c.device);
  $('crash-title').textContent = `Crash #${c.id} on ${dev ? dev.name : `board ${c.device}`}: ${c.kind} (${c.reason})`;
  const i = state.crashes.findIndex((x) => x.id === c.id);
  $('crash-prev').disabled = i < 0 || i + 1 >= state.crashes.length;
  $('crash-next').disabled = i <= 0;
  const box = $('crash-detail');
  box.replaceChildren(el('p', c.message, 'crash-message'), crashFacts(c, sym),
    el('h4', 'Backtrace'), framesTable(sym));
  if (!sym.available) box.append(elfUpload(c.id));
  crashDownloads(box, c, r);
  reportTables(box, r);
  $('crash-panel').hidden = false;
  writeLink();
}

function crashStep(delta) {
  const i = state.crashes.findIndex((x) => x.id === state.shownCrash);
  const next = state.crashes[i + delta];
  if (i >= 0 && next) showCrash(next.id);
}

// ---- shared region ----

function hexDump(hexstr, base, offset) {
  const lines = [];
  for (let i = 0; i < hexstr.length / 2; i += 16) {
    const bytes = hexstr.slice(i * 2, (i + 16) * 2).match(/../g);
    const ascii = bytes.map((b) => { const c = parseInt(b, 16); return c >= 32 && c < 127 ? String.fromCharCode(c) : '.'; });
    const off = `+${(offset + i).toString(16).padStart(4, '0')}`;
    lines.push(`${hex32(base + offset + i)} ${off}  ${bytes.join(' ').padEnd(47)}  ${ascii.join('')}`);
  }
  return lines.join('\n');
}

// Offset and length from the form; null (and a note) when they are not.
function memRange() {
  const off = parseOffset($('mem-off').value);
  const len = Number($('mem-len').value);
  if (Number.isNaN(off) || off < 0) {
    $('mem-note').textContent = `"${$('mem-off').value}" is not an offset: write 0x1a80 or 6784.`;
    return null;
  }
  if (!Number.isInteger(len) || len < 1 || len > 4096) {
    $('mem-note').textContent = 'length is 1 to 4096 bytes.';
    return null;
  }
  return { off, len };
}

const PARTS = [['header', 0], ['core-1 block', 'core1_off'], ['counters', 'counters_off'],
  ['descriptors', 'desc_off'], ['panic record', 'panic_off'], ['log ring', 'log_off'],
  ['user area', 'user_off']];

function fillJumps(hd) {
  const sel = $('mem-jump');
  if (sel.options.length > 1 || !hd || hd.panic_off === undefined) return;
  for (const [name, key] of PARTS) {
    const off = typeof key === 'number' ? key : hd[key];
    const o = el('option', `${name} (0x${off.toString(16)})`);
    o.value = String(off);
    sel.append(o);
  }
}

function showHeader(s) {
  const dl = $('mem-header');
  dl.replaceChildren();
  for (const [k, v] of Object.entries(s.header))
    fact(dl, k, typeof v === 'number' && (k.includes('magic') || k.endsWith('_off')) ? hex32(v) : String(v));
  const pd = $('mem-panic');
  pd.replaceChildren();
  const p = s.panic;
  if (!p || !p.seq) {
    fact(pd, 'record', p ? 'never written' : 'not in this snapshot');
    return;
  }
  fact(pd, 'state', p.complete ? 'complete' : 'being written (odd seq)');
  fact(pd, 'reason', p.reason);
  fact(pd, 'where', p.file ? `${p.file}:${p.line}` : '–');
  fact(pd, 'message', p.message || '–');
  fact(pd, 'PC', hex32(p.pc));
  fact(pd, 'SP', hex32(p.sp));
  fact(pd, 'PS', hex32(p.ps));
  if (p.reason === 'exception') {
    fact(pd, 'EXCCAUSE', `${p.exccause} ${p.exccause_name}`);
    fact(pd, 'EXCVADDR', hex32(p.excvaddr));
  }
  fact(pd, 'backtrace', `${p.bt_count} entries`);
}

async function loadRegion(ev) {
  if (ev) ev.preventDefault();
  if (!state.device || !state.device.last_snapshot_us) {
    $('mem-note').textContent = 'no snapshot yet';
    return;
  }
  const m = memRange();
  if (!m) return;
  try {
    const s = await api(`/api/v1/devices/${state.selected}/snapshot?offset=${m.off}&length=${m.len}`);
    $('mem-note').textContent = `snapshot of ${when(s.t)} ${zoneName(state.zone)}: ${m.len} of ` +
      `${s.size} bytes at +0x${m.off.toString(16)} (${hex32(s.region_base + m.off)})`;
    fillJumps(s.header);
    showHeader(s);
    $('hex').textContent = hexDump(s.bytes_hex, s.region_base, s.offset);
  } catch (e) {
    $('mem-note').textContent = e.message;
    $('hex').textContent = '';
  }
}

function memPage(delta) {
  const m = memRange();
  if (!m) return;
  $('mem-off').value = `0x${Math.max(0, m.off + delta * m.len).toString(16)}`;
  loadRegion();
}

// A live read through the agent: the same hex view, bytes as of now.
async function readLive() {
  const m = memRange();
  if (!m) return;
  try {
    const r = await api(`/api/v1/devices/${state.selected}/memory?offset=${m.off}&length=${m.len}`);
    $('mem-note').textContent = `read live at ${when(r.t)} ${zoneName(state.zone)}`;
    $('hex').textContent = hexDump(r.bytes_hex, state.device ? state.device.region_base : 0, r.offset);
  } catch (e) {
    $('mem-note').textContent = e.message;
  }
}

// ---- control ----

function confirmDialog(text, ok) {
  return new Promise((resolve) => {
    const dlg = $('confirm-dialog');
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = ok;
    dlg.onclose = () => resolve(dlg.returnValue === 'ok');
    dlg.returnValue = '';
    dlg.showModal();
  });
}

async function control(action, body) {
  if (state.selected === null) return false;
  const out = $('control-result');
  try {
    const r = await api(`/api/v1/devices/${state.selected}/${action}`, {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    out.textContent = `${r.command}: sent`;
    return true;
  } catch (e) {
    out.textContent = e.message;
    return false;
  }
}

async function restart() {
  const d = state.device;
  if (!d) return;
  if (await confirmDialog(`Restart core 1 of ${d.name}?  Its program starts again from reset; ` +
    'the agent and the link stay up.', 'Restart core 1'))
    control('restart');
}

async function setRate() {
  const d = state.device;
  const hz = Number($('rate-hz').value);
  if (!d || !Number.isInteger(hz) || hz < 1 || hz > 1000) {
    $('control-result').textContent = 'the rate is a whole number of Hz from 1 to 1000';
    return;
  }
  if (hz === d.rate_hz) {
    $('control-result').textContent = `${d.name} already samples at ${hz} Hz`;
    return;
  }
  if (await control('rate', { hz })) state.rateDirty = false;
}

// ---- core-1 images (docs/updates.md) ----

const UPDATE_OVER = ['confirmed', 'rolled-back', 'failed'];

function core1Facts(c) {
  const dl = $('core1-facts');
  dl.replaceChildren();
  const s = c.slots;
  if (!s) {
    fact(dl, 'slots', 'not reported', 'an agent without image slots, or not connected since appcored started');
  } else {
    fact(dl, 'runs', `slot ${s.active.toUpperCase()}`, `each slot holds ${s.slot_size} bytes`);
    fact(dl, 'image', `${s.active_image.slice(0, 16)}…`, s.active_image);
    fact(dl, 'last', s.error ? `${s.state}: ${s.error}` : s.state);
  }
  if (c.update) showUpdate(c.update);
}

async function loadCore1() {
  if (state.selected === null) return;
  try {
    core1Facts(await api(`/api/v1/devices/${state.selected}/core1`));
  } catch (e) {
    $('core1-status').textContent = e.message;
  }
}

// An update's state: the bar shows the bytes the board has.
function showUpdate(u) {
  const bar = $('core1-progress');
  const total = u.total ?? u.size;
  bar.hidden = UPDATE_OVER.includes(u.state) && u.state !== 'confirmed';
  bar.max = total || 1;
  bar.value = u.have || 0;
  const pct = total ? Math.floor((100 * (u.have || 0)) / total) : 0;
  const id = u.update ?? u.id;
  const text = {
    confirmed: `update ${id} confirmed: core 1 runs the new image`,
    'rolled-back': `update ${id} rolled back: ${u.error}`,
    failed: `update ${id} failed: ${u.error}`,
    trial: `update ${id}: the new image runs on trial`,
  }[u.state] || `update ${id}: ${u.state}, ${pct} % on the board`;
  $('core1-status').textContent = text;
  $('core1-status').dataset.state = u.state;
}

// POST with upload progress (fetch has none); the token asked once.
function postWithProgress(path, body, onProgress) {
  const send = () => new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    if (state.token) x.setRequestHeader('Authorization', `Bearer ${state.token}`);
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    x.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    x.onload = () => {
      let b = null;
      try { b = JSON.parse(x.responseText); } catch (e) { /* not JSON */ }
      resolve({ status: x.status, body: b });
    };
    x.onerror = () => resolve({ status: 0, body: null });
    x.send(body);
  });
  return send().then(async (r) => {
    if (r.status !== 401) return r;
    await tokenFor(r.body && r.body.error ? r.body.error.message : 'appcored asks for its API token.');
    return send();
  });
}

async function updateCore1() {
  const d = state.device;
  const f = $('core1-file').files[0];
  const secs = Number($('core1-confirm').value);
  const out = $('core1-status');
  if (!d) return;
  if (!f) { out.textContent = 'choose the image (core1_image.py) or the core-1 ELF first'; return; }
  if (!Number.isInteger(secs) || secs < 1 || secs > 3600) {
    out.textContent = 'confirm after 1 to 3600 s';
    return;
  }
  if (!await confirmDialog(`Put ${f.name} (${f.size} bytes) on core 1 of ${d.name}?  It goes to the ` +
    `slot core 1 does not run, runs on trial for ${secs} s, and the image before comes back ` +
    'if it panics, hangs or stays silent.', 'Update core 1'))
    return;
  const bar = $('core1-progress');
  bar.hidden = false;
  const r = await postWithProgress(
    `/api/v1/devices/${state.selected}/core1/update?confirm_after=${secs}&name=${encodeURIComponent(f.name)}`,
    await f.arrayBuffer(), (loaded, total) => {
      bar.max = total;
      bar.value = loaded;
      out.textContent = `uploading to appcored: ${Math.floor((100 * loaded) / total)} %`;
    });
  if (r.status !== 202) {
    bar.hidden = true;
    out.textContent = r.body && r.body.error ? `refused: ${r.body.error.message}` :
      `refused (HTTP ${r.status})`;
    out.dataset.state = 'refused';
    return;
  }
  showUpdate(r.body);
}

// ---- the stream ----

function connect() {
  const es = new EventSource('/api/v1/stream');
  state.stream = es;
  const badge = $('stream-state');
  es.onopen = () => { badge.textContent = 'live'; badge.className = 'badge live'; };
  es.onerror = () => { badge.textContent = 'reconnecting'; badge.className = 'badge off'; };
  es.addEventListener('sample', onSample);
  es.addEventListener('state', (ev) => {
    const s = JSON.parse(ev.data);
    if (s.device === state.selected) setState(s.state);
    loadDevices();
  });
  es.addEventListener('log', (ev) => {
    const l = JSON.parse(ev.data);
    if (l.device === state.selected) addLog(l.level, l.text, l.t, true, l.channel, l.binary);
  });
  es.addEventListener('event', (ev) => {
    const e = JSON.parse(ev.data);
    if (e.device === state.selected) addLog('event', `${e.kind}: ${e.detail}`, e.t);
    if (e.kind === 'link-up' || e.kind === 'link-down' || e.kind === 'boot') {
      loadDevices();
      if (e.device === state.selected) refreshDevice(false);
    }
  });
  es.addEventListener('crash', (ev) => {
    const c = JSON.parse(ev.data);
    if (c.device !== state.selected) return;
    loadCrashes();
    setTimeout(loadCrashes, 1500);	// in case the write was paused
  });
  es.addEventListener('update', (ev) => {
    const u = JSON.parse(ev.data);
    if (u.device !== state.selected) return;
    showUpdate(u);
    if (UPDATE_OVER.includes(u.state)) loadCore1();
  });
  // The dump arrived: a crash on show gains its downloads and diff.
  es.addEventListener('crash-dump', (ev) => {
    const d = JSON.parse(ev.data);
    if (d.device !== state.selected) return;
    loadCrashes();
    if (state.shownCrash) showCrash(state.shownCrash);
  });
}

// ---- wiring ----

$('zone').onchange = () => setZone($('zone').value);
$('sign-out').onclick = () => rememberToken(null);
$('hist-form').onsubmit = (ev) => ev.preventDefault();
$('hist-range').onsubmit = showTypedRange;
$('hist-counter').onchange = loadHistory;
$('hist-follow').onchange = () => {
  state.hist.follow = $('hist-follow').checked;
  state.hist.zoomed = false;
  writeLink();
  loadHistory();
};
$('hist-reset').onclick = () => preset(state.hist.span);
for (const b of document.querySelectorAll('.presets button'))
  b.onclick = () => preset(Number(b.dataset.range));
$('as-rate').onchange = () => {
  state.asRate = $('as-rate').checked;
  buildLive();
  loadHistory();
  writeLink();
};
$('pick-search').oninput = () => { state.filter = $('pick-search').value; renderPicker(); };
$('pick-none').onclick = () => { state.picks = []; renderPicker(); buildLive(); writeLink(); };
$('mem-form').onsubmit = loadRegion;
$('mem-live').onclick = readLive;
$('mem-prev').onclick = () => memPage(-1);
$('mem-next').onclick = () => memPage(1);
$('mem-jump').onchange = () => {
  if ($('mem-jump').value === '') return;
  $('mem-off').value = `0x${Number($('mem-jump').value).toString(16)}`;
  $('mem-jump').value = '';
  loadRegion();
};
$('crash-prev').onclick = () => crashStep(1);
$('crash-next').onclick = () => crashStep(-1);
$('crash-close').onclick = () => { state.shownCrash = null; $('crash-panel').hidden = true; writeLink(); };
$('btn-restart').onclick = restart;
$('btn-update').onclick = updateCore1;
$('btn-snapshot').onclick = () => control('snapshot');
$('btn-rate').onclick = setRate;
$('rate-hz').oninput = () => { state.rateDirty = true; };
window.addEventListener('hashchange', () => {
  const l = readLink();
  if (l.zone && l.zone !== state.zone) setZone(l.zone);
  if (l.board !== null && l.board !== state.selected) { pending = l; select(l.board); return; }
  if (l.crash && l.crash !== state.shownCrash) showCrash(l.crash);
});
window.addEventListener('resize', () => {
  if (state.live) state.live.setSize({ width: chartWidth('live-chart'), height: 260 });
  if (state.hist.chart) state.hist.chart.setSize({ width: chartWidth('hist-chart'), height: 260 });
});

setZone(pending.zone || state.zone);
rememberToken(state.token);
connect();
loadDevices();
setInterval(loadDevices, 5000);
setInterval(() => {
  refreshDevice(false);
  if (state.hist.follow && state.device && Date.now() - (state.hist.loadedAt || 0) >
    Math.max(5000, state.hist.span * 10)) {
    state.hist.loadedAt = Date.now();
    loadHistory();
  }
}, 1000);
