// A board that goes away and comes back, as the dashboard shows it: its
// values stay on screen greyed with "last data at ... (N s ago)" in the
// zone shown, its badge says offline, and once it is back the live chart
// and the history keep the hole as a gap (no line across it), with the
// link's loss and return marked.  64 counters: the picker shows 3 of 64
// and its filter narrows the list.  The board is appcore-sim on TCP,
// stopped (its --duration) and started again here on the same port.
// TAP output.
// usage: node outage.mjs URL OUTDIR APPCORE_SIM PORT
import { spawn } from 'node:child_process';
import { check, shot, watchErrors, withBrowser } from './lib.mjs';

const [url, outdir, sim, port] = process.argv.slice(2);
let sim2 = null;
process.on('exit', () => { if (sim2) sim2.kill('SIGTERM'); });

await withBrowser(async (browser, errors) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  watchErrors(page, errors);
  await page.goto(url);
  await page.waitForFunction(() => Number(document.querySelector('#live-chart')?.dataset.points) > 20,
    null, { timeout: 15000 });
  check((await page.textContent('#picks-summary')).startsWith('3 of 64'),
    `the picker summarises the choice: ${await page.textContent('#picks-summary')}`);
  check(!(await page.isVisible('#picks')), 'the 64 checkboxes stay folded away (no wall, no long tab path)');
  await page.click('#picker summary');
  await page.fill('#pick-search', 'audio.');
  const shown = await page.$$eval('#picks label', (ls) => ls.length);
  check(shown === 4, `the filter narrows 64 counters to the 4 audio ones (${shown})`);
  await page.click('#picker summary');

  // The simulator's --duration ends: the link goes down.
  await page.waitForFunction(() => !document.querySelector('#stale-note').hidden, null, { timeout: 20000 });
  const note = await page.textContent('#stale-note');
  check(/^Link down: last data at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)/.test(note), `the outage is said: ${note}`);
  check(await page.evaluate(() => document.querySelector('#device').classList.contains('stale')),
    'the values and charts are greyed');
  await page.waitForFunction(() => document.querySelector('#devices .badge')?.textContent === 'offline',
    null, { timeout: 6000 }).catch(() => {});
  check(await page.textContent('#devices .badge') === 'offline', 'the board list says offline');
  await page.waitForFunction(() => /\(([3-9]|\d\d+) s ago\)/.test(document.querySelector('#stale-note').textContent),
    null, { timeout: 10000 });
  await shot(page, `${outdir}/outage.png`);

  // Back on the same port, a new boot.
  sim2 = spawn(sim, ['--quiet', '--link', `tcp:${port}`, '--rate', '200', '--counters', '64',
    '--duration', '60'], { stdio: 'ignore' });
  await page.waitForFunction(() => document.querySelector('#stale-note').hidden, null, { timeout: 20000 });
  const t0 = Number(await page.getAttribute('#live-chart', 'data-last-t'));
  await page.waitForFunction((t) => Number(document.querySelector('#live-chart').dataset.lastT) - t > 1e6,
    t0, { timeout: 10000 });
  const live = await page.evaluate(() => ({ gaps: Number(document.querySelector('#live-chart').dataset.gaps),
    pts: Number(document.querySelector('#live-chart').dataset.points) }));
  check(live.gaps >= 1, `the live chart keeps the outage as a gap (${live.gaps} gap(s) in ${live.pts} points)`);
  await page.click('.presets button[data-range="300"]');
  await page.waitForFunction(() => Number(document.querySelector('#hist-chart').dataset.gaps) >= 1,
    null, { timeout: 10000 }).catch(() => {});
  const hist = await page.evaluate(() => ({ gaps: Number(document.querySelector('#hist-chart').dataset.gaps),
    marks: JSON.parse(document.querySelector('#hist-chart').dataset.marks).map((m) => m.kind) }));
  check(hist.gaps >= 1, `the history keeps it as a gap too (${hist.gaps})`);
  check(hist.marks.includes('link-down') && hist.marks.includes('link-up') && hist.marks.includes('boot'),
    `and marks the link's loss, its return and the new boot (${hist.marks.join(', ')})`);
  await shot(page, `${outdir}/after-outage.png`);
});
