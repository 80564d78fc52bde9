// The dashboard of appcored --demo in headless Chromium, checked as a
// person would look at it: the live chart advances and its axes read the
// values they stand for (board.temp in °C, nothing clipped), times are
// ISO, 24-hour and name their zone, the rate field shows the board's
// rate, a restart asks first and leaves an event naming who asked, the
// simulator's crash appears without a reload and is named without any
// upload (the demo registers its core-1 ELF), a deep link opens the same
// board, counters, range and crash, and at 360 px nothing scrolls
// sideways.  Screenshots of each view.  TAP output.
// usage: node dashboard.mjs URL OUTDIR TOKEN_FILE
import { readFileSync } from 'node:fs';
import { axesRight, check, contrast, fitsWidth, shot, waitFor, watchErrors, withBrowser } from './lib.mjs';

const [url, outdir, tokenFile] = process.argv.slice(2);
const token = readFileSync(tokenFile, 'utf8').trim();
// The first control request goes without the token, to learn where it
// is kept: its 401 is expected.
const allowed = (where, text) => where.includes('/restart') && text.includes('401');

async function liveAdvances(page) {
  await page.waitForFunction(() => Number(document.querySelector('#live-chart').dataset.points) > 10,
    null, { timeout: 15000 });
  const t1 = Number(await page.getAttribute('#live-chart', 'data-last-t'));
  await page.waitForFunction((t) => Number(document.querySelector('#live-chart').dataset.lastT) - t > 1e6,
    t1, { timeout: 10000 }).catch(() => {});
  const t2 = Number(await page.getAttribute('#live-chart', 'data-last-t'));
  check(t2 - t1 > 1e6, `the live chart advances (${((t2 - t1) / 1e6).toFixed(2)} s of data)`);
}

async function controlEvents(page) {
  return page.evaluate(async () => (await (await fetch('/api/v1/devices/1/events?kind=control')).json()).events);
}

await withBrowser(async (browser, errors) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
  watchErrors(page, errors, allowed);
  const resp = await page.goto(url);
  check(resp.status() === 200, `the dashboard loads (${resp.status()})`);
  await page.waitForSelector('#live-chart canvas', { timeout: 15000 });
  await liveAdvances(page);
  check(await page.textContent('#dev-state') === 'running', 'the state badge says running');
  check((await page.textContent('#log')).includes('core1 up'), 'the log shows core 1 starting');
  check(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} /.test(await page.textContent('#log li')),
    `log times are ISO and 24-hour: ${(await page.textContent('#log li')).slice(0, 23)}`);
  check(await page.textContent('#zone-name') === 'UTC', 'the zone is printed in the header: UTC');
  check(await page.inputValue('#rate-hz') === '1000', `the rate field shows the board's rate (${await page.inputValue('#rate-hz')})`);

  // board.temp (mC) beside the default gauges: one axis per unit, °C.
  await page.click('#picker summary');
  await page.fill('#pick-search', 'temp');
  const shown = await page.$$eval('#picks label', (ls) => ls.map((l) => l.textContent.trim()));
  check(shown.length === 1 && shown[0].startsWith('board.temp'), `the counter filter finds board.temp alone (${shown.join(', ')})`);
  await page.check('#picks input[type=checkbox]');
  await page.click('#picker summary');
  await liveAdvances(page);
  await page.waitForFunction(() => JSON.parse(document.querySelector('#live-chart').dataset.axes || '[]')
    .some((a) => a.title === '°C'), null, { timeout: 5000 }).catch(() => {});
  const [axOk, axWhat] = await axesRight(page, '#live-chart');
  check(axOk && axWhat.includes('°C') && axWhat.includes('%'),
    `every live y-axis label reads the value it stands for and fits: ${axWhat}`);
  const temp = await page.$$eval('#values tr', (trs) => trs.map((tr) => tr.textContent).find((t) => t.startsWith('board.temp')));
  check(/^board\.temp\d+(\.\d+)?°C$/.test(temp || ''), `values read with their units: ${temp}`);

  await page.waitForFunction(() => document.querySelector('#hex').textContent.length > 0, null, { timeout: 15000 });
  check((await page.textContent('#hex')).includes('AC1R'), 'the region viewer shows the magic AC1R');
  await page.fill('#mem-off', '0x1a80');
  await page.click('#mem-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#hex').textContent.includes('+1a80'), null, { timeout: 5000 }).catch(() => {});
  check((await page.textContent('#hex')).startsWith('0x3fcc') && (await page.textContent('#hex')).includes('+1a80'),
    `a hex offset reads there: ${(await page.textContent('#hex')).slice(0, 20)}`);
  const jumps = await page.$$eval('#mem-jump option', (os) => os.map((o) => o.textContent));
  check(jumps.some((j) => j.startsWith('panic record')) && jumps.some((j) => j.startsWith('log ring')),
    `the region viewer jumps to its parts (${jumps.length - 1})`);
  const [w, iw] = await fitsWidth(page);
  check(w <= iw, `no sideways scroll at 1400 px (${w} of ${iw})`);
  await shot(page, `${outdir}/live.png`);

  // Restart asks first; cancelled, nothing is sent.
  await page.click('#btn-restart');
  await page.waitForSelector('#confirm-dialog[open]', { timeout: 5000 });
  check((await page.textContent('#confirm-text')).includes('Restart core 1 of sim-0'), 'restart asks first, naming the board');
  await page.click('#confirm-dialog button[value=cancel]');
  check((await controlEvents(page)).length === 0, 'cancelled: no control event');
  await page.click('#btn-restart');
  await page.click('#confirm-dialog button[value=ok]');
  await page.waitForSelector('#token-dialog[open]', { timeout: 5000 });
  const why = await page.textContent('#token-why');
  check(why.includes('api-token') && why.includes('/'), `the token dialog says where the token is: ${why}`);
  await page.fill('#token', token);
  await page.click('#token-dialog button[value="ok"]');
  const ev = await waitFor(() => controlEvents(page), (e) => e.length > 0, 5000);
  check(ev.length === 1 && ev[0].detail.startsWith('restart core 1, asked by 127.0.0.1 (Mozilla/5.0)'),
    `confirmed: one control event naming what and who (${ev.length ? ev[0].detail : 'none'})`);

  // The simulator panics 14 s in: the page learns of it by itself.
  const before = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  await page.waitForSelector('#crashes li.crash button', { timeout: 30000 });
  const navs = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  check((await page.textContent('#crashes li.crash')).includes('mixer.c:217') && navs === before,
    `the crash appears in the list without a reload: ${await page.textContent('#crashes li.crash')}`);
  // Wait on the list's dump_sha256: fetching the dump before it is stored
  // would be a 404 in the console.
  const dumped = await waitFor(() => page.evaluate(async () => {
    const l = await (await fetch('/api/v1/crashes')).json();
    return l.crashes.length > 0 && Boolean(l.crashes[0].dump_sha256);
  }), (ok) => ok, 10000);
  check(dumped, 'the crash dump arrives');
  await page.click('#crashes li.crash button');
  await page.waitForSelector('#crash-panel:not([hidden]) table.report-diff', { timeout: 5000 });
  const frames = await page.$$eval('#crash-detail table.frames tr', (trs) => trs.slice(1).map((tr) => tr.textContent));
  check(frames.length === 6 && frames[0].includes('mixer_process+0x2d') && /core1_image\.c:\d+/.test(frames[0]) &&
    frames[5].includes('app_main+0x10'),
    `the demo's crash is named with no upload (${frames[0]} ... ${frames[5]})`);
  check((await page.textContent('#crash-title')).startsWith('Crash #1 on sim-0'), `the crash view has its id: ${await page.textContent('#crash-title')}`);
  const rep = await page.evaluate(() => ({
    states: document.querySelector('#crash-detail ul.states').textContent,
    rows: document.querySelectorAll('#crash-detail table.report-counters tr').length - 1,
    lines: [...document.querySelectorAll('#crash-detail table.report-counters svg polyline')]
      .filter((p) => p.getAttribute('points').split(' ').length > 10).length,
  }));
  check(rep.states.includes('running \u2192 panicked') && rep.rows === 16 && rep.lines === 16,
    `the report shows the state change and every counter's last 10 s (${rep.rows} rows, ${rep.lines} lines)`);
  const dump = await page.getAttribute('#crash-detail a.button', 'href');
  const dumpLen = await page.evaluate(async (u) => (await (await fetch(u)).arrayBuffer()).byteLength, dump);
  check(/\/api\/v1\/crashes\/\d+\/dump$/.test(dump) && dumpLen === 131072, `the crash view offers the dump (${dumpLen} bytes)`);
  await page.click('.presets button[data-range="300"]');
  await page.waitForFunction(() => JSON.parse(document.querySelector('#hist-chart').dataset.marks || '[]')
    .some((m) => m.kind === 'crash'), null, { timeout: 10000 }).catch(() => {});
  const marks = JSON.parse(await page.getAttribute('#hist-chart', 'data-marks'));
  check(marks.some((m) => m.kind === 'crash') && marks.some((m) => m.kind === 'boot'),
    `history marks the crash and the boot (${marks.map((m) => m.kind).join(', ')})`);
  check((await page.textContent('#hist-note')).includes(' UTC'), `the history range names its zone: ${await page.textContent('#hist-note')}`);
  // A week asked, seconds stored: said, and the range fits the data.
  await page.click('.presets button[data-range="604800"]');
  await page.waitForFunction(() => !document.querySelector('#hist-fit').hidden &&
    Number(document.querySelector('#hist-chart').dataset.to) - Number(document.querySelector('#hist-chart').dataset.from) > 6 * 86400e6,
  null, { timeout: 10000 }).catch(() => {});
  const sparse = await page.textContent('#hist-note');
  check(sparse.includes('data only from') && !(await page.isHidden('#hist-fit')),
    `a long range with little data says where it is: ${sparse}`);
  await page.click('#hist-fit');
  await page.waitForFunction(() => Number(document.querySelector('#hist-chart').dataset.points) > 20 &&
    Number(document.querySelector('#hist-chart').dataset.to) - Number(document.querySelector('#hist-chart').dataset.from) < 600e6,
  null, { timeout: 10000 }).catch(() => {});
  const fitted = await page.evaluate(() => ({ pts: Number(document.querySelector('#hist-chart').dataset.points),
    span: (Number(document.querySelector('#hist-chart').dataset.to) - Number(document.querySelector('#hist-chart').dataset.from)) / 1e6 }));
  check(fitted.pts > 20 && fitted.span < 600, `"Fit to the data" draws it (${fitted.pts} buckets over ${fitted.span.toFixed(0)} s)`);
  const [worst, low, seen] = await contrast(page, ['body', 'nav h2', '#devices .badge', '#dev-state',
    '.facts dt', '.facts dd', '.note', '#hist-note', '#log li', '#crashes button', '#crash-title',
    '.crash-message', '#crash-detail dt', 'header h1', '#zone-name', '#stream-state', '.pick .unit',
    '.presets button[aria-pressed="true"]', '.mk.crash', '.mk.boot', '.mk.down', '.mk.up']);
  check(low.length === 0, `text contrast is WCAG AA (4.5:1) or better, the lowest ${worst.toFixed(1)}:1` +
    `${low.length ? `; under: ${low.join(', ')}` : ''} (${seen.length} measured)`);
  await shot(page, `${outdir}/crash.png`);
  check(before === await page.evaluate(() => performance.getEntriesByType('navigation').length), 'no page reload happened');

  // The link of this view opens it again: board, counters, range, crash.
  const link = page.url();
  const p = new URLSearchParams(link.split('#')[1]);
  const range = `from=${Date.now() * 1000 - 120e6}&to=${Date.now() * 1000 - 60e6}`;
  const deep = `${url}#board=1&counters=${p.get('counters')}&${range}&crash=1&zone=utc`;
  const page2 = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
  watchErrors(page2, errors, allowed);
  await page2.goto(deep);
  await page2.waitForSelector('#crash-panel:not([hidden]) table.frames', { timeout: 10000 }).catch(() => {});
  const got = await page2.evaluate(() => ({
    crash: document.querySelector('#crash-title').textContent,
    picks: document.querySelector('#picks-summary').textContent,
    from: document.querySelector('#hist-from').value,
    follow: document.querySelector('#hist-follow').checked,
    board: document.querySelector('#devices button[aria-current="true"]')?.textContent,
  }));
  const wantFrom = new Date(Date.now() - 120e3).toISOString().slice(0, 16).replace('T', ' ');
  check(got.crash.startsWith('Crash #1') && got.picks.includes('board.temp') && got.picks.startsWith('4 of 16') &&
    got.from.startsWith(wantFrom.slice(0, 15)) && !got.follow && got.board?.startsWith('sim-0'),
    `a deep link opens the board, counters, range and crash (${link.split('#')[1]}): ${JSON.stringify(got)}`);

  // A phone: nothing wider than the window.
  const narrow = await browser.newPage({ viewport: { width: 360, height: 780 } });
  watchErrors(narrow, errors, allowed);
  await narrow.goto(`${url}#board=1&crash=1`);
  await narrow.waitForSelector('#live-chart canvas', { timeout: 15000 });
  await narrow.waitForSelector('#crash-panel:not([hidden]) table.frames', { timeout: 10000 }).catch(() => {});
  const [nw, niw] = await fitsWidth(narrow);
  check(nw <= niw, `no sideways scroll at 360 px (${nw} of ${niw})`);
  const [nOk, nWhat] = await axesRight(narrow, '#live-chart');
  check(nOk, `at 360 px the axes still read right: ${nWhat}`);
  await shot(narrow, `${outdir}/narrow.png`, false);
  await narrow.evaluate(() => document.querySelector('#crash-panel').scrollIntoView());
  await shot(narrow, `${outdir}/narrow-crash.png`, false);
});
