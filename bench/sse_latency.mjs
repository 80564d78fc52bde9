// Latency from core 1 to the browser, measured in Chromium.  Each sample
// event carries t, the wall time the agent read the counters.  A change on
// core 1 made after the previous event's sample can first show in this
// event, so "arrival - previous event's t" bounds the change-to-browser
// latency from above; "arrival - t" is capture-to-browser.
// usage: node sse_latency.mjs URL SECONDS  (needs tests/browser's modules)
import { createRequire } from 'node:module';
const require = createRequire(new URL('../tests/browser/', import.meta.url));
const { chromium } = require('playwright-core');

const [url, secs] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking'] });
const page = await browser.newPage();
await page.goto(url + 'healthz');
const r = await page.evaluate(async (ms) => new Promise((resolve) => {
  const cap = [], chg = [];
  let prev = null;
  const es = new EventSource('/api/v1/stream');
  es.addEventListener('sample', (ev) => {
    const now = (performance.timeOrigin + performance.now()) * 1000;
    const t = JSON.parse(ev.data).t;
    cap.push(now - t);
    if (prev !== null) chg.push(now - prev);
    prev = t;
  });
  setTimeout(() => { es.close(); resolve({ cap, chg }); }, ms);
}), Number(secs) * 1000);
await browser.close();
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))] / 1000; };
console.log(`events ${r.cap.length}`);
console.log(`capture to browser: p50 ${pct(r.cap, 0.5).toFixed(2)} ms, p99 ${pct(r.cap, 0.99).toFixed(2)} ms`);
console.log(`change to browser (upper bound): p50 ${pct(r.chg, 0.5).toFixed(2)} ms, p99 ${pct(r.chg, 0.99).toFixed(2)} ms`);
