// The dashboard's number and time formatting (web/format.js) under node:
// values read right with their units, axis labels parse back to the
// values they stand for, times are ISO and 24-hour in the zone asked.
// TAP output.  usage: node format.test.mjs WEB_DIR
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const f = await import(pathToFileURL(`${dir}/format.js`).href);
let n = 0, failed = 0;
const check = (ok, what) => {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? '' : 'not '}ok ${n} - ${what}`);
};
const eq = (got, want, what) => check(got === want, `${what}: ${JSON.stringify(got)}` +
  (got === want ? '' : ` (want ${JSON.stringify(want)})`));

eq(f.fmtValue(46800, 'mC'), '46.8°C', 'millidegrees read as degrees');
eq(f.fmtValue(734, 'permil'), '73.4%', 'permil reads as percent');
eq(f.fmtValue(1234567, 'frames'), '1.23 M frames', 'a large count takes an SI prefix');
eq(f.fmtValue(999, 'frames'), '999 frames', 'a count below 1000 stays whole');
eq(f.fmtValue(1500, 'us'), '1.5 ms', 'microseconds scale to milliseconds');
eq(f.fmtValue(123456, 'bytes'), '123 kB', 'bytes take k');
eq(f.fmtValue(0.25, 'frames'), '0.25 frames', 'a fraction of a count has no milli');
eq(f.fmtValue(null, 'mC'), '–', 'no value is a dash');
eq(f.fmtValue(-3, 'events'), '-3 events', 'negative values keep their sign');

// Axis labels: one prefix and as many decimals as the step needs; each
// parses back, through the axis title, to the value it stands for.
const axes = [
  [[46000, 46500, 47000], 'mC', 500],
  [[0, 500000, 1000000, 1500000], 'frames', 500000],
  [[0, 20000, 40000, 60000], 'events', 20000],
  [[100, 200, 300], 'permil', 100],
  [[0, 0.5, 1], 'frames', 0.5],
  [[-2000, 0, 2000], 'us', 2000],
  [[1e9, 2e9, 3e9], 'bytes', 1e9],
];
for (const [splits, unit, incr] of axes) {
  const labels = f.axisLabels(splits, unit, incr);
  const title = f.axisUnit(unit);
  const back = labels.map((l) => f.parseAxisLabel(l, unit));
  const ok = back.every((v, i) => Math.abs(v - splits[i]) <= Math.abs(incr) * 1e-6);
  check(ok && new Set(labels).size === labels.length,
    `${unit} ticks ${splits.join(', ')} read ${labels.join(', ')} ${title}`);
}
eq(f.axisLabels([46000, 46500], 'mC', 500).join(' '), '46.0 46.5', 'degrees keep one decimal at a 0.5 step');
eq(f.axisLabels([0, 5e5, 1e6], 'frames', 5e5).join(' '), '0 0.5M 1.0M', 'each tick carries the prefix');
eq(f.axisUnit('mC'), '°C', 'the axis title is the unit shown');
eq(f.axisLabels([0, 1, 2], 'events', 1).join(' '), '0 1 2', 'small counts, no decimals');

// Time: ISO order, 24-hour clock, the zone named.
const t = Date.UTC(2026, 11, 2, 14, 5, 9, 123) * 1000;
eq(f.fmtTime(t, 'utc'), '2026-12-02 14:05:09.123', 'a UTC time in ISO order, 24-hour');
eq(f.fmtTime(t, 'utc', false), '2026-12-02 14:05:09', 'without milliseconds');
eq(f.parseTime('2026-12-02 14:05:09.123', 'utc'), t, 'a UTC time parses back');
eq(f.parseTime('2026-12-02T14:05', 'utc'), Date.UTC(2026, 11, 2, 14, 5) * 1000, 'minutes are enough');
check(Number.isNaN(f.parseTime('2026-02-30 10:00', 'utc')), 'an impossible date is refused');
check(Number.isNaN(f.parseTime('12/02/2026 2:05 PM', 'utc')), 'a 12-hour US time is refused');
const local = f.parseTime('2026-12-02 14:05:09', 'local');
eq(f.fmtTime(local, 'local', false), '2026-12-02 14:05:09', 'a local time round-trips');
eq(f.zoneName('utc'), 'UTC', 'the UTC zone is named');
check(/^UTC[+-]\d\d:\d\d \(local\)$/.test(f.zoneName('local')), `the local zone is named: ${f.zoneName('local')}`);
const ticks = [Date.UTC(2026, 11, 2, 13, 0) / 1000, Date.UTC(2026, 11, 2, 13, 30) / 1000];
eq(f.timeAxisLabels(ticks, 'utc', 1800).join(' '), '13:00 13:30', 'time ticks are 24-hour');
eq(f.timeAxisLabels([ticks[0] + 0.25], 'utc', 0.25)[0], '00:00.250', 'sub-second ticks show milliseconds');
eq(f.timeAxisLabels([Date.UTC(2026, 11, 3) / 1000], 'utc', 3600)[0], '12-03', 'midnight shows the day');
eq(f.ago(10e6, 22e6), '12 s ago', 'seconds ago');
eq(f.ago(0, 7200e6), '2 h ago', 'hours ago');

eq(f.parseOffset('0x1a80'), 0x1a80, 'a hex offset');
eq(f.parseOffset('1a80h'), 0x1a80, 'a hex offset with h');
eq(f.parseOffset('6784'), 6784, 'a decimal offset');
check(Number.isNaN(f.parseOffset('1a80')), 'ambiguous digits are refused');
eq(f.hex32(0x40378000), '0x40378000', 'addresses in hex');

console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
