// The dashboard in headless Chromium: it loads without console errors, the
// live chart advances while the simulator runs, a crash injected into the
// simulator appears without a reload; screenshots of the live and crash
// views are saved.  TAP output.
// usage: node dashboard.mjs URL OUTDIR TOKEN_FILE CORE1_ELF OTHER_ELF
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, statSync } from 'node:fs';

const [url, outdir, tokenFile, elfPath, otherElf] = process.argv.slice(2);
mkdirSync(outdir, { recursive: true });
let n = 0, failed = 0;
const check = (ok, what) => {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? '' : 'not '}ok ${n} - ${what}`);
};

const pngSize = (path) => {
  try { return statSync(path).size; } catch { return 0; }
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync'],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
  // The wrong ELF's 409 is expected; Chromium logs every failed request.
  page.on('console', (m) => {
    const where = m.location().url || '';
    if (m.type() === 'error' && !(where.includes('/api/v1/images') && m.text().includes('409')))
      errors.push(`${m.text()} [${where}]`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  const resp = await page.goto(url);
  check(resp.status() === 200, `the dashboard loads (${resp.status()})`);
  await page.waitForSelector('#live-chart canvas', { timeout: 15000 });
  await page.waitForFunction(() => Number(document.querySelector('#live-chart').dataset.points) > 10,
    null, { timeout: 15000 });
  const t1 = Number(await page.getAttribute('#live-chart', 'data-last-t'));
  const w0 = Date.now();
  await page.waitForFunction((t) => Number(document.querySelector('#live-chart').dataset.lastT) - t > 1e6,
    t1, { timeout: 10000 }).catch(() => {});
  const t2 = Number(await page.getAttribute('#live-chart', 'data-last-t'));
  const pts = Number(await page.getAttribute('#live-chart', 'data-points'));
  check(t2 - t1 > 1e6, `the live chart advances (${((t2 - t1) / 1e6).toFixed(2)} s of data within ${((Date.now() - w0) / 1e3).toFixed(1)} s, ${pts} points)`);
  check(await page.textContent('#dev-state') === 'running', 'the state badge says running');
  check((await page.textContent('#log')).includes('core1 up'), 'the log shows core 1 starting');
  await page.waitForFunction(() => document.querySelector('#hex').textContent.length > 0,
    null, { timeout: 15000 });
  check((await page.textContent('#hex')).includes('AC1R'), 'the region viewer shows the magic AC1R');
  await page.screenshot({ path: `${outdir}/live.png`, fullPage: true });
  check(pngSize(`${outdir}/live.png`) > 20000, `screenshot ${outdir}/live.png (${pngSize(`${outdir}/live.png`)} bytes)`);
  // The simulator panics a few seconds in: the page learns of it by itself.
  const before = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  await page.waitForSelector('#crashes li.crash button', { timeout: 30000 });
  const navs = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  check((await page.textContent('#crashes li.crash')).includes('mixer.c:217') && navs === before,
    `the crash appears in the list without a reload: ${await page.textContent('#crashes li.crash')}`);
  await page.waitForFunction(() => document.querySelector('#dev-state').textContent === 'panicked',
    null, { timeout: 10000 }).catch(() => {});
  check(await page.textContent('#dev-state') === 'panicked', 'the state badge turns to panicked');
  // The dump comes from the agent right after the panic: wait for it, so
  // the report has its region diff.
  await page.waitForFunction(async () => {
    const l = await (await fetch('/api/v1/crashes')).json();
    return l.crashes.length > 0 && (await fetch(`/api/v1/crashes/${l.crashes[0].id}/dump`)).ok;
  }, null, { timeout: 10000, polling: 250 });
  await page.click('#crashes li.crash button');
  await page.waitForSelector('#crash-detail table.frames', { timeout: 5000 });
  await page.waitForSelector('#crash-detail table.report-diff', { timeout: 5000 });
  const rep = await page.evaluate(() => ({
    states: document.querySelector('#crash-detail ul.states').textContent,
    rows: document.querySelectorAll('#crash-detail table.report-counters tr').length - 1,
    lines: [...document.querySelectorAll('#crash-detail table.report-counters svg polyline')]
      .filter((p) => p.getAttribute('points').split(' ').length > 10).length,
    diffRows: document.querySelectorAll('#crash-detail table.report-diff tr').length - 1,
    firstAfter: document.querySelector('#crash-detail table.report-diff td.hex:nth-child(4)')?.textContent,
  }));
  check(rep.states.includes('running \u2192 panicked'), 'the report shows core 1 going from running to panicked');
  check(rep.rows === 16 && rep.lines === 16,
    `the report has every counter with a sparkline of the last 10 s (${rep.rows} rows, ${rep.lines} lines)`);
  check(rep.diffRows > 0 && /^[0-9a-f]+$/.test(rep.firstAfter || ''),
    `the report lists the region's changed bytes (${rep.diffRows} ranges)`);
  const detail = await page.textContent('#crash-detail');
  check(detail.includes('dsp/mixer.c:217') && detail.includes('0x42002a1c'),
    'the crash detail shows where and the backtrace');
  const frameTexts = () => page.evaluate(() => [...document.querySelectorAll('#crash-detail table.frames tr')]
    .slice(1).map((tr) => tr.textContent));
  check((await frameTexts()).length === 6 && !(await frameTexts())[0].includes('+0x') &&
    (await page.textContent('#crash-detail')).includes('no core-1 ELF'),
    'without its ELF the backtrace is addresses, and the page says why');
  // Upload through the page: the token dialog, then a wrong ELF (refused),
  // then the right one.
  await page.setInputFiles('#elf-file', otherElf);
  await page.waitForSelector('#token-dialog[open]', { timeout: 5000 });
  await page.fill('#token', readFileSync(tokenFile, 'utf8').trim());
  await page.click('#token-dialog button[value="ok"]');
  await page.waitForFunction(() => document.querySelector('.elf-result')?.textContent.includes('refused'),
    null, { timeout: 5000 }).catch(() => {});
  const refusal = await page.textContent('.elf-result');
  check(refusal.includes('refused') && refusal.length > 'refused'.length + 10,
    `a wrong ELF is refused on the page, with the reason: ${refusal}`);
  await page.setInputFiles('#elf-file', elfPath);
  await page.waitForFunction(() => document.querySelector('#crash-detail table.frames tr:nth-child(2)')
    ?.textContent.includes('mixer_process'), null, { timeout: 5000 });
  const frames = await frameTexts();
  check(frames.length === 6 && frames[0].includes('mixer_process+0x2d') &&
    /core1_image\.c:\d+/.test(frames[0]) && frames[5].includes('app_main+0x10'),
    `the backtrace is named from the uploaded ELF (${frames[0]} ... ${frames[5]})`);
  const dump = await page.getAttribute('#crash-detail a.button', 'href');
  const dumpLen = await page.evaluate(async (u) => (await (await fetch(u)).arrayBuffer()).byteLength, dump);
  check(/\/api\/v1\/crashes\/\d+\/dump$/.test(dump) && dumpLen === 131072,
    `the crash view offers the dump (${dumpLen} bytes)`);
  const after = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  check(before === after, 'no page reload happened');
  await page.screenshot({ path: `${outdir}/crash.png`, fullPage: true });
  check(pngSize(`${outdir}/crash.png`) > 20000, `screenshot ${outdir}/crash.png (${pngSize(`${outdir}/crash.png`)} bytes)`);
  check(errors.length === 0, `no console errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
} catch (e) {
  check(false, String(e));
} finally {
  await browser.close();
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
