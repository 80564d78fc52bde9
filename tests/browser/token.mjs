// The dashboard of an appcored that listens beyond loopback, where reads
// need the API token: the page asks for it once, saying where it is kept,
// then the device list, the live chart (the stream, through the cookie)
// and the region viewer work, and a reload does not ask again.  Its
// simulator reports a core-1 image nobody registered: the crash page
// takes an ELF upload, refuses another build's, and names the backtrace
// from the right one.  TAP output.
// usage: node token.mjs URL TOKEN_FILE CORE1_ELF OTHER_ELF
import { readFileSync } from 'node:fs';
import { check, watchErrors, withBrowser } from './lib.mjs';

const [url, tokenFile, elfPath, otherElf] = process.argv.slice(2);
let refused = 0;
// Chromium logs each 401 before the token is given, and the wrong ELF's
// 409; anything else counts.
const allowed = (where, text) => {
  if (text.includes('401')) { refused++; return true; }
  return where.includes('/api/v1/images') && text.includes('409');
};

await withBrowser(async (browser, errors) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
  watchErrors(page, errors, allowed);
  const resp = await page.goto(url);
  check(resp.status() === 200, `the page loads without the token (${resp.status()})`);
  await page.waitForSelector('#token-dialog[open]', { timeout: 10000 });
  check(refused > 0, `its reads are refused, and it asks for the token (${refused} refusals)`);
  const why = await page.textContent('#token-why');
  check(why.includes('/api-token'), `the dialog names the token's file: ${why}`);
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
  const before = refused;
  await page.reload();
  await page.waitForFunction(() => Number(document.querySelector('#live-chart')?.dataset.points) > 10,
    null, { timeout: 15000 }).catch(() => {});
  check(!(await page.$('#token-dialog[open]')) && refused === before,
    'after a reload the page still has the token: no question, no refusal');

  // An image nobody registered: addresses first, then the upload.
  await page.waitForSelector('#crashes li.crash button', { timeout: 30000 });
  await page.click('#crashes li.crash button');
  await page.waitForSelector('#crash-detail table.frames', { timeout: 5000 });
  const frameTexts = () => page.$$eval('#crash-detail table.frames tr', (trs) => trs.slice(1).map((tr) => tr.textContent));
  check((await frameTexts()).length === 6 && !(await frameTexts())[0].includes('+0x') &&
    (await page.textContent('#crash-detail')).includes('no core-1 ELF'),
    'without its ELF the backtrace is addresses, and the page says why');
  await page.setInputFiles('#elf-file', otherElf);
  await page.waitForFunction(() => document.querySelector('.elf-result')?.textContent.includes('refused'),
    null, { timeout: 5000 }).catch(() => {});
  const refusal = await page.textContent('.elf-result');
  check(refusal.includes('refused') && refusal.length > 'refused'.length + 10,
    `a wrong ELF is refused on the page, with the reason: ${refusal}`);
  await page.setInputFiles('#elf-file', elfPath);
  await page.waitForFunction(() => document.querySelector('#crash-detail table.frames tr:nth-child(2)')
    ?.textContent.includes('mixer_process'), null, { timeout: 5000 }).catch(() => {});
  const frames = await frameTexts();
  check(frames.length === 6 && frames[0].includes('mixer_process+0x2d') && frames[5].includes('app_main+0x10'),
    `the backtrace is named from the uploaded ELF (${frames[0]} ... ${frames[5]})`);
}, 'no other console errors');
