// uPlot charts as the dashboard draws them: one y axis per unit, each as
// wide as its widest label, values with units, times in the chosen zone,
// gaps kept as gaps, and event markers.
import uPlot from './uPlot.esm.js';
import { axisLabels, axisUnit, fmtTime, fmtValue, timeAxisLabels } from './format.js';

// Twelve colours apart in hue and lightness, then the same with dashes:
// 48 series before a style repeats.
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b',
  '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#ad494a'];
const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3]];

export function seriesStyle(k) {
  return { stroke: PALETTE[k % PALETTE.length],
    dash: DASHES[Math.floor(k / PALETTE.length) % DASHES.length] };
}

const FONT = '12px system-ui, sans-serif';
const TITLE_FONT = 'bold 12px system-ui, sans-serif';

// An axis as wide (or tall) as its widest tick label needs: uPlot's
// fixed 50 px clipped "46 800" to "6,800".
function fitAxis(self, values, axisIdx, cycleNum) {
  const axis = self.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap + (axis.label ? axis.labelSize : 0);
  if (values && values.length) {
    self.ctx.font = axis.font[0];
    const widest = Math.max(...values.map((v) => self.ctx.measureText(String(v)).width));
    size += widest / devicePixelRatio;
  }
  return Math.ceil(size) + 2;
}

// What each axis last showed, for tests and screen readers: the raw tick
// values, their labels, and the room the axis had.
function recordAxes(u, box) {
  box.dataset.axes = JSON.stringify(u.axes.map((a, i) => ({
    scale: a.scale, unit: a._unit || null, title: a.label || '',
    splits: u._axisSplits ? u._axisSplits[i] : [],
    labels: u._axisLabels ? u._axisLabels[i] : [],
    size: a._size, tick: a.ticks.size, gap: a.gap, font: a.font[0] })));
}

function remember(u, axisIdx, splits, labels) {
  (u._axisSplits ||= [])[axisIdx] = splits;
  (u._axisLabels ||= [])[axisIdx] = labels;
  return labels;
}

function timeAxis(zone) {
  return {
    font: FONT, labelFont: TITLE_FONT, space: 70, gap: 4,
    values: (u, splits, ai, space, incr) => remember(u, ai, splits,
      timeAxisLabels(splits, zone, incr)),
  };
}

function unitAxis(unit, side) {
  return {
    scale: unit, side, font: FONT, labelFont: TITLE_FONT, label: axisUnit(unit) || 'value',
    labelSize: 18, gap: 4, size: fitAxis, grid: { show: side === 3 },
    values: (u, splits, ai, space, incr) => remember(u, ai, splits,
      axisLabels(splits, unit, incr)),
    _unit: unit,
  };
}

// Event markers: a vertical line and a letter per marker {t (s), kind}.
const MARK = { crash: ['#b3261e', 'C'], boot: ['#1d7a46', 'B'], 'link-down': ['#6b7385', 'D'],
  'link-up': ['#3b6fd8', 'U'] };

function markersPlugin(getMarks) {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        const { top, height, left, width } = u.bbox;
        ctx.save();
        ctx.font = `${10 * devicePixelRatio}px system-ui, sans-serif`;
        for (const m of getMarks()) {
          const x = Math.round(u.valToPos(m.t, 'x', true));
          if (x < left || x > left + width) continue;
          const [color, letter] = MARK[m.kind] || ['#333', '?'];
          ctx.strokeStyle = color;
          ctx.fillStyle = color;
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillText(letter, x + 2 * devicePixelRatio, top + 10 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}

// A chart of series [{label, unit, kind}] on a time axis.  opts: zone,
// width, height, marks() for markers, range [from, to] in s (or null to
// follow the data), onSelect(from, to) for a drag across the plot.
export function makeChart(box, series, data, opts) {
  const units = [...new Set(series.map((s) => s.unit))];
  const axes = [timeAxis(opts.zone), ...units.map((un, i) => unitAxis(un, i % 2 ? 1 : 3))];
  const scales = { x: { time: true } };
  if (opts.range) scales.x.range = () => opts.range;
  for (const un of units) scales[un] = {};
  const u = new uPlot({
    width: opts.width, height: opts.height || 260,
    series: [
      { value: (self, v) => (v === null ? '–' : fmtTime(v * 1e6, opts.zone)) },
      ...series.map((s, k) => ({
        label: s.label, scale: s.unit, width: s.width || 1.5, spanGaps: false,
        ...(s.style || seriesStyle(k)),
        value: (self, v) => fmtValue(v, s.unit, 4),
      })),
    ],
    bands: opts.bands,
    axes, scales,
    cursor: { drag: { x: !!opts.onSelect, y: false, setScale: false } },
    legend: { live: true },
    plugins: opts.marks ? [markersPlugin(opts.marks)] : [],
    hooks: {
      draw: [(self) => recordAxes(self, box)],
      setSelect: [(self) => {
        if (!opts.onSelect || self.select.width < 4) return;
        const a = self.posToVal(self.select.left, 'x');
        const b = self.posToVal(self.select.left + self.select.width, 'x');
        self.setSelect({ left: 0, width: 0 }, false);
        opts.onSelect(a, b);
      }],
    },
  }, data, box);
  return u;
}

// Rows [t, v...] with a null row wherever samples are further apart than
// maxGap seconds, so the line breaks there instead of bridging an outage.
export function withGaps(cols, maxGap) {
  const out = cols.map(() => []);
  const t = cols[0];
  for (let i = 0; i < t.length; i++) {
    if (i > 0 && t[i] - t[i - 1] > maxGap) {
      out[0].push((t[i] + t[i - 1]) / 2);
      for (let k = 1; k < cols.length; k++) out[k].push(null);
    }
    for (let k = 0; k < cols.length; k++) out[k].push(cols[k][i]);
  }
  return out;
}

// A cumulative counter's values as a rate per second between samples.
export function asRate(t, v) {
  const out = [null];
  for (let i = 1; i < t.length; i++) {
    const dt = t[i] - t[i - 1];
    out.push(v[i] === null || v[i - 1] === null || !(dt > 0) ? null : (v[i] - v[i - 1]) / dt);
  }
  return out;
}
