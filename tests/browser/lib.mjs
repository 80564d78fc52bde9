// What the browser tests share: TAP checks, Chromium as Debian ships it,
// console errors collected, and the checks a person would make of a
// chart's axes and of the page's width.
import { chromium } from 'playwright-core';
import { statSync } from 'node:fs';

let n = 0, failed = 0;

export function check(ok, what) {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? '' : 'not '}ok ${n} - ${what}`);
  return ok;
}

export function finish() {
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync'],
  });
}

// One browser for a script's checks: body(browser, errors) runs them, a
// throw is a failed check, and the console errors the body collected
// (watchErrors) are one more; then the TAP plan, and exit.
export async function withBrowser(body, what = 'no console errors') {
  const browser = await launch();
  const errors = [];
  try {
    await body(browser, errors);
    check(errors.length === 0, `${what}${errors.length ? `: ${errors.join(' | ')}` : ''}`);
  } catch (e) {
    check(false, String(e));
  } finally {
    await browser.close();
  }
  finish();
}

// Console errors and page exceptions, but for failed requests the test
// expects (allowed(url, text) says so).
export function watchErrors(page, errors, allowed = () => false) {
  page.on('console', (m) => {
    const where = m.location().url || '';
    if (m.type() === 'error' && !allowed(where, m.text())) errors.push(`${m.text()} [${where}]`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
}

export const pngSize = (path) => {
  try { return statSync(path).size; } catch { return 0; }
};

export async function shot(page, path, full = true) {
  await page.screenshot({ path, fullPage: full });
  check(pngSize(path) > 10000, `screenshot ${path} (${pngSize(path)} bytes)`);
}

// Each y axis of a chart: every tick label parses back (web/format.js's
// inverse) to the value it stands for, within half its last digit, and
// fits the room the axis has (measured in the page's own font): nothing
// is clipped.  Returns [ok, description].
export async function axesRight(page, selector) {
  return page.evaluate(async (sel) => {
    const f = await import('/format.js');
    const box = document.querySelector(sel);
    const axes = JSON.parse(box.dataset.axes || '[]').filter((a) => a.scale !== 'x');
    const ctx = document.createElement('canvas').getContext('2d');
    const bad = [];
    const seen = [];
    for (const a of axes) {
      const vals = a.splits.filter((v) => v !== null);
      const incr = vals.length > 1 ? Math.abs(vals[1] - vals[0]) : 1;
      ctx.font = a.font;
      a.labels.forEach((label, i) => {
        const back = f.parseAxisLabel(label, a.unit);
        const dec = (label.split('.')[1] || '').replace(/[^0-9]/g, '').length;
        const prefix = /[TGMkmµn]$/.test(label) ? { T: 1e12, G: 1e9, M: 1e6, k: 1e3, m: 1e-3, 'µ': 1e-6, n: 1e-9 }[label.slice(-1)] : 1;
        const factor = f.displayUnit(a.unit).factor;
        const tol = 0.5 * 10 ** -dec * prefix / factor + incr * 1e-9;
        if (!(Math.abs(back - a.splits[i]) <= tol)) bad.push(`${a.title}: "${label}" is ${back}, not ${a.splits[i]}`);
        const need = ctx.measureText(label).width + a.tick + a.gap + 18;
        if (need > a.size + 0.5) bad.push(`${a.title}: "${label}" needs ${need.toFixed(1)} px of ${a.size}`);
      });
      seen.push(`${a.title} [${a.labels.join(' ')}]`);
    }
    return [axes.length > 0 && axes.every((a) => a.labels.length > 1) && bad.length === 0,
      `${seen.join('; ')}${bad.length ? ` WRONG: ${bad.join('; ')}` : ''}`];
  }, selector);
}

// Polls get() until ok(value) or timeout ms; the last value.
export async function waitFor(get, ok, timeout) {
  const end = Date.now() + timeout;
  let v = await get();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    v = await get();
  }
  return v;
}

// No sideways scrolling: the page is no wider than the window.
export async function fitsWidth(page) {
  return page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
}

// WCAG 2 contrast of each element's text against the background it sits
// on (the nearest ancestor with an opaque one): [worst ratio, the ones
// under min, what was measured].
export async function contrast(page, selectors, min = 4.5) {
  return page.evaluate(([sels, least]) => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    let worst = Infinity;
    const bad = [], seen = [];
    for (const sel of sels) {
      const el = document.querySelector(sel);
      if (!el || !el.textContent.trim()) continue;
      const a = lum(rgb(getComputedStyle(el).color)), b = lum(bgOf(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      worst = Math.min(worst, ratio);
      seen.push(`${sel} ${ratio.toFixed(1)}`);
      if (ratio < least) bad.push(`${sel} ${ratio.toFixed(2)}`);
    }
    return [worst, bad, seen];
  }, [selectors, min]);
}
