// The dashboard of an appcored that listens beyond loopback, where reads
// need the API token: the page asks for it once, then the device list,
// the live chart (the stream, through the cookie) and the region viewer
// work.  TAP output.
// usage: node token.mjs URL TOKEN_FILE
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';

const [url, tokenFile] = process.argv.slice(2);
let n = 0, failed = 0;
const check = (ok, what) => {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? '' : 'not '}ok ${n} - ${what}`);
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync'],
});
const errors = [];
let refused = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
  // Chromium logs each 401 before the token is given; anything else counts.
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (m.text().includes('401')) refused++;
    else errors.push(`${m.text()} [${m.location().url || ''}]`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  const resp = await page.goto(url);
  check(resp.status() === 200, `the page loads without the token (${resp.status()})`);
  await page.waitForSelector('#token-dialog[open]', { timeout: 10000 });
  check(refused > 0, `its reads are refused, and it asks for the token (${refused} refusals)`);
  await page.fill('#token', readFileSync(tokenFile, 'utf8').trim());
  await page.click('#token-dialog button[value="ok"]');
  await page.waitForSelector('#devices li', { timeout: 10000 }).catch(() => {});
  check((await page.$$('#devices li')).length === 1, 'with it the device list loads');
  await page.waitForFunction(() => Number(document.querySelector('#live-chart')?.dataset.points) > 10,
    null, { timeout: 15000 }).catch(() => {});
  const pts = Number(await page.getAttribute('#live-chart', 'data-points'));
  check(pts > 10, `the live stream reconnects with the cookie and the chart fills (${pts} points)`);
  await page.waitForFunction(() => document.querySelector('#hex').textContent.includes('AC1R'),
    null, { timeout: 15000 }).catch(() => {});
  check((await page.textContent('#hex')).includes('AC1R'), 'the region viewer reads the snapshot');
  check(!(await page.$('#token-dialog[open]')), 'the token was asked for once');
  check(errors.length === 0, `no other console errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
} catch (e) {
  check(false, String(e));
} finally {
  await browser.close();
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
