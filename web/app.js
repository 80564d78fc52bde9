// The appcore dashboard: one page, the JSON API and the live stream.
// Everything from the daemon is inserted as text, never as HTML.
import uPlot from './uPlot.esm.js';

const LIVE_WINDOW_S = 30;
const $ = (id) => document.getElementById(id);
const state = {
  devices: [], selected: null, device: null, token: null, stream: null,
  picks: [], live: null, liveData: null, redraw: false,
  hist: null, crashes: [], shownCrash: null,
};

// Reads need the token too when appcored listens beyond loopback: the
// dashboard asks once, and keeps it in a cookie that the stream and the
// downloads carry as well (control still sends it as a header).
let tokenAsked = null;

function rememberToken(t) {
  if (!t) return;
  state.token = t;
  document.cookie = `appcore_token=${encodeURIComponent(t)}; path=/; SameSite=Strict`;
  if (state.stream && state.stream.readyState === EventSource.CLOSED) connect();
}

async function tokenForReads() {
  if (!tokenAsked) tokenAsked = askToken().finally(() => { tokenAsked = null; });
  const t = await tokenAsked;
  if (t) rememberToken(t);
  return t;
}

async function api(path, opts = {}, retried = false) {
  const r = await fetch(path, opts);
  if (r.status === 401 && !retried && !opts.method && await tokenForReads())
    return api(path, opts, true);
  const ctype = r.headers.get('Content-Type') || '';
  const body = ctype.startsWith('application/json') ? await r.json() : await r.text();
  if (!r.ok) {
    const msg = body && body.error ? body.error.message : String(r.status);
    const e = new Error(msg);
    e.status = r.status;
    throw e;
  }
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function fact(dl, name, value) {
  const d = el('div');
  d.append(el('dt', name), el('dd', value));
  dl.append(d);
}

const fmtTime = (us) => new Date(us / 1000).toISOString().replace('T', ' ').replace('Z', '');
const hex32 = (v) => '0x' + (v >>> 0).toString(16).padStart(8, '0');
const num = (v) => (Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 10) / 10).toLocaleString('en');

// ---- boards ----

async function loadDevices() {
  try {
    const b = await api('/api/v1/devices');
    state.devices = b.devices;
  } catch (e) {
    return;
  }
  const ul = $('devices');
  ul.replaceChildren();
  for (const d of state.devices) {
    const b = el('button');
    b.type = 'button';
    b.append(el('span', d.name + ' '), el('span', d.connected ? d.state : 'offline',
      'badge ' + (d.connected ? d.state : 'off')));
    b.setAttribute('aria-current', String(d.id === state.selected));
    b.onclick = () => select(d.id);
    const li = el('li');
    li.append(b);
    ul.append(li);
  }
  $('empty').hidden = state.devices.length > 0;
  if (state.selected === null && state.devices.length > 0) select(state.devices[0].id);
}

async function select(id) {
  state.selected = id;
  $('device').hidden = false;
  for (const b of $('devices').querySelectorAll('button'))
    b.setAttribute('aria-current', 'false');
  state.device = null;
  await refreshDevice(true);
  loadLogs();
  loadCrashes();
  loadHistory();
}

async function refreshDevice(rebuild) {
  if (state.selected === null) return;
  let d;
  try {
    d = await api(`/api/v1/devices/${state.selected}`);
  } catch (e) {
    $('dev-name').textContent = `board ${state.selected}`;
    $('dev-state').textContent = e.message;
    return;
  }
  const newSnapshot = !state.device || state.device.id !== d.id ||
    state.device.last_snapshot_us !== d.last_snapshot_us;
  state.device = d;
  $('dev-name').textContent = d.name;
  setState(d.connected ? d.state : 'off');
  const dl = $('dev-facts');
  dl.replaceChildren();
  fact(dl, 'heartbeat', `${num(d.heartbeat_rate)} /s`);
  fact(dl, 'sample rate', `${d.rate_hz} Hz`);
  fact(dl, 'link', `${d.link}${d.connected ? '' : ' (down)'}`);
  fact(dl, 'boot', d.boot);
  fact(dl, 'agent', d.agent_version);
  fact(dl, 'bytes received', num(d.link_health.rx_bytes));
  fact(dl, 'frames', num(d.link_health.frames));
  fact(dl, 'CRC errors', String(d.link_health.crc_errors));
  fact(dl, 'sequence gaps', String(d.link_health.seq_gaps));
  fact(dl, 'samples lost', String(d.link_health.samples_lost + d.link_health.agent_samples_dropped));
  $('rate-hz').placeholder = d.rate_hz;
  renderValues(d.counters);
  if (rebuild) buildPicks(d.counters);
  if (newSnapshot && d.last_snapshot_us > 0) loadRegion();
}

function setState(s) {
  const b = $('dev-state');
  b.textContent = s;
  b.className = 'badge ' + s;
}

function renderValues(counters) {
  const tb = $('values').tBodies[0];
  tb.replaceChildren();
  for (const c of counters) {
    const tr = el('tr');
    tr.append(el('td', c.name), el('td', num(c.value)), el('td', c.unit),
      el('td', c.kind === 'counter' ? num(c.rate) : ''));
    tb.append(tr);
  }
}

// ---- live chart ----

function buildPicks(counters) {
  const box = $('picks');
  box.replaceChildren();
  // Start with the gauges: they move; counters climb out of view.
  const gauges = counters.filter((c) => c.kind === 'gauge').map((c) => c.index);
  state.picks = (gauges.length ? gauges : counters.map((c) => c.index)).slice(0, 3);
  for (const c of counters) {
    const l = el('label');
    const cb = el('input');
    cb.type = 'checkbox';
    cb.checked = state.picks.includes(c.index);
    cb.onchange = () => {
      state.picks = counters.filter((x, i) => box.querySelectorAll('input')[i].checked).map((x) => x.index);
      buildLive();
    };
    l.append(cb, document.createTextNode(' ' + c.name));
    box.append(l);
  }
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

function chartWidth(id) {
  return Math.max(320, $(id).clientWidth || 800);
}

function buildLive() {
  const d = state.device;
  if (state.live) state.live.destroy();
  state.liveData = [[], ...state.picks.map(() => [])];
  const series = [{}, ...state.picks.map((i, k) => ({
    label: d.counters[i] ? d.counters[i].name : String(i),
    stroke: ['#3b6fd8', '#d8733b', '#2e9e5b', '#9b3bd8', '#d83b6f'][k % 5],
    width: 1.5,
  }))];
  state.live = new uPlot({ width: chartWidth('live-chart'), height: 240, series,
    scales: { x: { time: true } }, legend: { live: false } }, state.liveData, $('live-chart'));
}

function onSample(ev) {
  const s = JSON.parse(ev.data);
  if (s.device !== state.selected || !state.liveData) return;
  const t = s.t / 1e6;
  const data = state.liveData;
  data[0].push(t);
  state.picks.forEach((idx, k) => data[k + 1].push(s.values[idx]));
  while (data[0].length && data[0][0] < t - LIVE_WINDOW_S)
    for (const col of data) col.shift();
  const box = $('live-chart');
  box.dataset.points = String(data[0].length);
  box.dataset.lastT = String(s.t);
  // Samples come at up to 50 Hz per board; draw once per frame at most.
  if (!state.redraw) {
    state.redraw = true;
    requestAnimationFrame(() => {
      state.redraw = false;
      state.live.setData(state.liveData);
    });
  }
}

// ---- history ----

const toLocalInput = (ms) => {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
};

async function loadHistory(ev) {
  if (ev) ev.preventDefault();
  if (state.selected === null || $('hist-counter').value === '') return;
  if (!$('hist-to').value) {
    $('hist-to').value = toLocalInput(Date.now() + 1000);
    $('hist-from').value = toLocalInput(Date.now() - 10 * 60 * 1000);
  }
  const from = new Date($('hist-from').value).getTime() * 1000;
  const to = new Date($('hist-to').value).getTime() * 1000;
  try {
    const h = await api(`/api/v1/devices/${state.selected}/counters/${$('hist-counter').value}` +
      `/history?from=${from}&to=${to}`);
    const cols = [[], [], [], []];
    for (const p of h.points) {
      cols[0].push(p[0] / 1e6); cols[1].push(p[1]); cols[2].push(p[2]); cols[3].push(p[3]);
    }
    $('hist-note').textContent = `${h.points.length} buckets of ${h.step / 1000} ms from ${h.source} data`;
    if (state.hist) state.hist.destroy();
    // The axis spans the asked window, even around a single bucket.
    state.hist = new uPlot({ width: chartWidth('hist-chart'), height: 240,
      scales: { x: { time: true, range: () => [from / 1e6, to / 1e6] } },
      series: [{}, { label: 'min', stroke: '#9aa6c0' }, { label: 'max', stroke: '#9aa6c0' },
        { label: 'mean', stroke: '#3b6fd8', width: 2 }],
      bands: [{ series: [2, 1], fill: 'rgba(59,111,216,.12)' }] }, cols, $('hist-chart'));
  } catch (e) {
    $('hist-note').textContent = e.message;
  }
}

// ---- log, crashes ----

function addLog(level, text, t, front = true) {
  const li = el('li', `${fmtTime(t)}  ${level.padEnd(5)}  ${text}`, level);
  const ol = $('log');
  if (front) ol.prepend(li); else ol.append(li);
  while (ol.children.length > 300) ol.lastChild.remove();
}

async function loadLogs() {
  $('log').replaceChildren();
  try {
    const b = await api(`/api/v1/devices/${state.selected}/logs?limit=100`);
    for (const l of b.logs) addLog(l.level, l.text, l.t, false);
  } catch (e) { /* shown by the next event */ }
}

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
    const b = el('button', `${fmtTime(c.t)}  ${c.reason}: ${c.message}  (${c.file}:${c.line})`);
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
  const y = (v) => hi === lo ? h / 2 : h - 2 - (v - lo) / (hi - lo) * (h - 4);
  const x = (t) => (t - t0) / (t1 - t0 || 1) * (w - 2) + 1;
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points.map((p) => `${x(p[0]).toFixed(1)},${y(p[3]).toFixed(1)}`).join(' '));
  svg.append(line);
  return svg;
}

function reportTables(box, r) {
  box.append(el('h3', 'Core 1 before the crash'));
  const states = el('ul', undefined, 'states');
  for (const s of r.states)
    states.append(el('li', `${fmtTime(s.t)}  ${s.prev} \u2192 ${s.state}  (heartbeat ${s.heartbeat})`));
  if (!r.states.length) states.append(el('li', 'no state change recorded'));
  box.append(states);

  box.append(el('h3', `Counters over the ${r.window_us / 1e6} s before the crash`));
  const tbl = el('table', undefined, 'report-counters');
  const head = el('tr');
  for (const h of ['counter', '', 'first', 'last', 'min', 'max', 'unit']) head.append(el('th', h));
  tbl.append(head);
  for (const k of r.counters) {
    const tr = el('tr');
    const p = k.points;
    const td = el('td');
    td.append(sparkline(p));
    tr.append(el('td', k.name), td);
    if (p.length) {
      const lo = Math.min(...p.map((q) => q[1])), hi = Math.max(...p.map((q) => q[2]));
      for (const v of [p[0][3], p[p.length - 1][3], lo, hi]) tr.append(el('td', String(Math.round(v)), 'num'));
    } else {
      const n = el('td', 'no samples');
      n.colSpan = 4;
      tr.append(n);
    }
    tr.append(el('td', k.unit));
    tbl.append(tr);
  }
  box.append(tbl);

  const d = r.region_diff;
  box.append(el('h3', 'Shared region: the dump against the last snapshot'));
  if (!d.available) {
    box.append(el('p', `no diff: ${d.why}`));
    return;
  }
  box.append(el('p', `${d.changed_bytes} of ${d.size} bytes changed since ${fmtTime(d.before_t)}, ` +
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
  box.append(dt);
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
  return tbl;
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
    if (!state.token) rememberToken(await askToken());
    if (!state.token) return;
    try {
      await api(`/api/v1/images?crash=${id}&name=${encodeURIComponent(f.name)}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${state.token}`, 'Content-Type': 'application/octet-stream' },
        body: await f.arrayBuffer(),
      });
      showCrash(id);
    } catch (e) {
      if (e.status === 401) state.token = null;
      msg.textContent = e.message;
    }
  };
  return p;
}

async function showCrash(id) {
  const r = await api(`/api/v1/crashes/${id}/report`);
  const c = r.crash;
  const sym = r.symbols;
  const box = $('crash-detail');
  state.shownCrash = c.id;
  box.replaceChildren();
  const dl = el('dl', undefined, 'facts');
  fact(dl, 'when', fmtTime(c.t));
  fact(dl, 'kind', `${c.kind} (${c.reason})`);
  fact(dl, 'where', `${c.file}:${c.line}`);
  fact(dl, 'pc', `${hex32(c.pc)}  ${sym.pc ? frameText(sym.pc) : ''}`);
  fact(dl, 'sp', hex32(c.sp));
  fact(dl, 'image', c.image_hash.slice(0, 16));
  fact(dl, 'symbols', sym.available ? `${sym.image}${sym.dwarf ? ' (DWARF)' : ''}` : sym.why);
  fact(dl, 'dump', c.dump_sha256 ? `${c.dump_size} bytes, sha256 ${c.dump_sha256.slice(0, 16)}` :
    'on its way from the board');
  box.append(el('p', c.message), dl, el('h3', 'Backtrace'), framesTable(sym));
  if (!sym.available) box.append(elfUpload(c.id));
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
  reportTables(box, r);
}

// ---- shared region ----

function hexDump(hexstr, base) {
  const lines = [];
  for (let i = 0; i < hexstr.length / 2; i += 16) {
    const bytes = hexstr.slice(i * 2, (i + 16) * 2).match(/../g);
    const ascii = bytes.map((b) => { const c = parseInt(b, 16); return c >= 32 && c < 127 ? String.fromCharCode(c) : '.'; });
    lines.push(`${hex32(base + i)}  ${bytes.join(' ').padEnd(47)}  ${ascii.join('')}`);
  }
  return lines.join('\n');
}

async function loadRegion(ev) {
  if (ev) ev.preventDefault();
  if (!state.device || !state.device.last_snapshot_us) {
    $('mem-note').textContent = 'no snapshot yet';
    return;
  }
  try {
    const s = await api(`/api/v1/devices/${state.selected}/snapshot?offset=${$('mem-off').value}` +
      `&length=${$('mem-len').value}`);
    $('mem-note').textContent = `snapshot of ${fmtTime(s.t)}, ${s.size} bytes at ${hex32(s.region_base)}`;
    const dl = $('mem-header');
    dl.replaceChildren();
    for (const [k, v] of Object.entries(s.header))
      fact(dl, k, typeof v === 'number' && k.includes('magic') ? hex32(v) : String(v));
    $('hex').textContent = hexDump(s.bytes_hex, s.region_base + s.offset);
  } catch (e) {
    $('mem-note').textContent = e.message;
    $('hex').textContent = '';
  }
}

// A live read through the agent: the same hex view, bytes as of now.
async function readLive() {
  try {
    const m = await api(`/api/v1/devices/${state.selected}/memory?offset=${$('mem-off').value}` +
      `&length=${$('mem-len').value}`);
    $('mem-note').textContent = `read live at ${fmtTime(m.t)}`;
    $('hex').textContent = hexDump(m.bytes_hex, (state.device ? state.device.region_base : 0) + m.offset);
  } catch (e) {
    $('mem-note').textContent = e.message;
  }
}

// ---- control ----

function askToken() {
  return new Promise((resolve) => {
    const dlg = $('token-dialog');
    $('token').value = '';
    dlg.onclose = () => resolve(dlg.returnValue === 'ok' ? $('token').value.trim() : null);
    dlg.showModal();
  });
}

async function control(action, body) {
  if (state.selected === null) return;
  if (!state.token) rememberToken(await askToken());
  if (!state.token) return;
  const out = $('control-result');
  try {
    const r = await api(`/api/v1/devices/${state.selected}/${action}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${state.token}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    out.textContent = `${r.command}: sent`;
  } catch (e) {
    if (e.status === 401) state.token = null;
    out.textContent = e.message;
  }
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
    if (l.device === state.selected) addLog(l.level, l.text, l.t);
  });
  es.addEventListener('event', (ev) => {
    const e = JSON.parse(ev.data);
    if (e.device === state.selected) addLog('event', `${e.kind}: ${e.detail}`, e.t);
    if (e.kind === 'link-up' || e.kind === 'link-down' || e.kind === 'boot') loadDevices();
  });
  es.addEventListener('crash', (ev) => {
    const c = JSON.parse(ev.data);
    if (c.device !== state.selected) return;
    loadCrashes();
    setTimeout(loadCrashes, 1500);	// in case the write was paused
  });
  // The dump arrived: a crash on show gains its downloads and diff.
  es.addEventListener('crash-dump', (ev) => {
    const d = JSON.parse(ev.data);
    if (d.device !== state.selected) return;
    loadCrashes();
    if (state.shownCrash) showCrash(state.shownCrash);
  });
}

$('hist-form').onsubmit = loadHistory;
$('mem-form').onsubmit = loadRegion;
$('mem-live').onclick = readLive;
$('btn-restart').onclick = () => control('restart');
$('btn-snapshot').onclick = () => control('snapshot');
$('btn-rate').onclick = () => control('rate', { hz: Number($('rate-hz').value) });
window.addEventListener('resize', () => {
  if (state.live) state.live.setSize({ width: chartWidth('live-chart'), height: 240 });
  if (state.hist) state.hist.setSize({ width: chartWidth('hist-chart'), height: 240 });
});
connect();
loadDevices();
setInterval(loadDevices, 5000);
setInterval(() => refreshDevice(false), 1000);
