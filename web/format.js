// Numbers and times as the dashboard shows them.  Pure functions, no DOM:
// tests/web/format.test.mjs checks them under node.

// ---- units ----

// A counter's unit as shown: converted where the unit says so (mC to °C,
// permil to %), and whether SI prefixes (k, M, ...) apply.
const CONVERSIONS = {
  mC: { unit: '°C', factor: 1e-3, si: false },
  permil: { unit: '%', factor: 0.1, si: false },
  permille: { unit: '%', factor: 0.1, si: false },
  '%': { unit: '%', factor: 1, si: false },
  C: { unit: '°C', factor: 1, si: false },
  ns: { unit: 's', factor: 1e-9, si: true },
  us: { unit: 's', factor: 1e-6, si: true },
  ms: { unit: 's', factor: 1e-3, si: true },
  mV: { unit: 'V', factor: 1e-3, si: true },
  uV: { unit: 'V', factor: 1e-6, si: true },
  mA: { unit: 'A', factor: 1e-3, si: true },
  uA: { unit: 'A', factor: 1e-6, si: true },
  mW: { unit: 'W', factor: 1e-3, si: true },
  bytes: { unit: 'B', factor: 1, si: true },
  byte: { unit: 'B', factor: 1, si: true },
  kHz: { unit: 'Hz', factor: 1e3, si: true },
};

export function displayUnit(unit) {
  const u = unit || '';
  return CONVERSIONS[u] || { unit: u, factor: 1, si: true };
}

// A rate's unit: "frames" counted per second reads "frames/s".
export const rateUnit = (unit) => `${unit || ''}/s`;

const PREFIXES = [
  [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''],
  [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'],
];

// The SI prefix for a magnitude (already converted): 1 for none.
function prefixFor(mag, si, allowSmall) {
  if (!si || !(mag > 0)) return [1, ''];
  for (const p of PREFIXES) {
    if (p[0] < 1 && !allowSmall) break;
    if (mag >= p[0]) return p;
  }
  return allowSmall ? PREFIXES[PREFIXES.length - 1] : [1, ''];
}

// Units that read well with milli and micro (seconds, volts); a count
// never does ("500 m frames").
const smallOk = (unit) => ['s', 'V', 'A', 'W', 'B/s', 's/s'].includes(unit);

// One value with its unit: "46.8 °C", "1.25 Mframes", "3.1 ms".
// digits: significant digits (at least as many as the integer part).
export function fmtValue(v, unit, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const d = displayUnit(unit);
  const x = v * d.factor;
  const [scale, prefix] = prefixFor(Math.abs(x), d.si, smallOk(d.unit));
  const y = x / scale;
  const intDigits = Math.abs(y) >= 1 ? Math.floor(Math.log10(Math.abs(y))) + 1 : 1;
  const decimals = Math.max(0, digits - intDigits);
  let s = trimZeros(y.toFixed(Number.isInteger(y) ? 0 : decimals));
  if (s === '-0') s = '0';
  const suffix = prefixed(prefix, d.unit);
  const sep = d.unit === '°C' || d.unit === '%' ? '' : ' ';
  return suffix ? `${s}${sep}${suffix}` : s;
}

// A unit with its prefix: "kB", "ms", but "M frames".
function prefixed(prefix, unit) {
  if (!prefix) return unit;
  return unit.length > 2 ? `${prefix} ${unit}` : `${prefix}${unit}`;
}

function trimZeros(s) {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

// Tick labels for an axis of one unit: the same prefix and decimals on
// every tick, enough decimals to tell neighbours apart: "46.5", "1.5M",
// "250µ".  The axis title carries the unit (axisUnit).  splits: raw
// values; incr: their step.
export function axisLabels(splits, unit, incr) {
  const d = displayUnit(unit);
  const vals = splits.map((v) => (v === null ? null : v * d.factor));
  const mag = Math.max(0, ...vals.filter((v) => v !== null).map(Math.abs));
  const [scale, prefix] = prefixFor(mag, d.si, smallOk(d.unit));
  const step = Math.abs(incr * d.factor / scale) || 1;
  const decimals = Math.min(9, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
  return vals.map((v) => {
    if (v === null) return '';
    if (v === 0) return '0';
    return (v / scale).toFixed(decimals) + prefix;
  });
}

// The axis title: the unit as shown ("°C", "%", "frames/s").
export const axisUnit = (unit) => displayUnit(unit).unit;

// The raw value a tick label stands for: the inverse of axisLabels.
export function parseAxisLabel(label, unit) {
  const d = displayUnit(unit);
  const m = /^(-?[0-9.]+)([TGMkmµn]?)$/.exec(label.trim());
  if (!m) return NaN;
  const p = PREFIXES.find(([, name]) => name === m[2]);
  return Number(m[1]) * (p ? p[0] : 1) / d.factor;
}

// ---- time ----

// zone: 'utc' or 'local'.  Times are microseconds since the epoch.
const pad = (n, w = 2) => String(n).padStart(w, '0');

function parts(ms, zone) {
  const d = new Date(ms);
  const u = zone === 'utc';
  return {
    y: u ? d.getUTCFullYear() : d.getFullYear(),
    mo: (u ? d.getUTCMonth() : d.getMonth()) + 1,
    d: u ? d.getUTCDate() : d.getDate(),
    h: u ? d.getUTCHours() : d.getHours(),
    mi: u ? d.getUTCMinutes() : d.getMinutes(),
    s: u ? d.getUTCSeconds() : d.getSeconds(),
    ms: u ? d.getUTCMilliseconds() : d.getMilliseconds(),
  };
}

// "2026-12-02 14:05:09.123": ISO order, 24-hour clock.
export function fmtTime(us, zone, withMs = true) {
  if (!us) return '–';
  const p = parts(us / 1000, zone);
  const t = `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
  return withMs ? `${t}.${pad(p.ms, 3)}` : t;
}

// The zone's name as printed beside times: "UTC" or "UTC+01:00".
export function zoneName(zone, atMs = Date.now()) {
  if (zone === 'utc') return 'UTC';
  const off = -new Date(atMs).getTimezoneOffset();
  if (off === 0) return 'UTC+00:00 (local)';
  const a = Math.abs(off);
  return `UTC${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)} (local)`;
}

// "YYYY-MM-DD HH:MM[:SS[.fff]]" in the zone to microseconds; NaN when
// the text is not such a time.
export function parseTime(text, zone) {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?\s*$/
    .exec(text);
  if (!m) return NaN;
  const [y, mo, d, h, mi] = m.slice(1, 6).map(Number);
  const s = m[6] ? Number(m[6]) : 0;
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  const t = zone === 'utc' ? Date.UTC(y, mo - 1, d, h, mi, s, ms) :
    new Date(y, mo - 1, d, h, mi, s, ms).getTime();
  const back = parts(t, zone);
  if (back.mo !== mo || back.d !== d || back.h !== h) return NaN;
  return t * 1000;
}

// Tick labels of a time axis: as much of the time as the step needs.
// splits in seconds, incr in seconds.
export function timeAxisLabels(splits, zone, incr) {
  return splits.map((s) => {
    const p = parts(s * 1000, zone);
    const hm = `${pad(p.h)}:${pad(p.mi)}`;
    if (incr >= 86400) return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
    if (incr >= 60) return p.h === 0 && p.mi === 0 ? `${pad(p.mo)}-${pad(p.d)}` : hm;
    if (incr >= 1) return `${hm}:${pad(p.s)}`;
    return `${pad(p.mi)}:${pad(p.s)}.${pad(p.ms, 3)}`;
  });
}

// "12 s ago", "3 min ago", "2 h ago".
export function ago(us, nowUs) {
  const s = Math.max(0, (nowUs - us) / 1e6);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400 * 2) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// ---- addresses ----

export const hex32 = (v) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

// "0x1a80", "1a80h" or "6784": a byte offset; NaN otherwise.
export function parseOffset(text) {
  const t = String(text).trim().toLowerCase();
  if (/^0x[0-9a-f]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^[0-9a-f]+h$/.test(t)) return parseInt(t.slice(0, -1), 16);
  if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
  return NaN;
}
