// appcored --demo with the emulated board (--core1 xtensa): core 1 runs
// real Xtensa code under QEMU and takes an unaligned load.  The crash
// view names the cause as the ISA does (EXCCAUSE 9,
// LoadStoreAlignmentCause) with the faulting address, and the backtrace
// is named from the board's ELF, which the demo registered itself.
// TAP output.  usage: node emulated.mjs URL OUTDIR
import { check, shot, watchErrors, withBrowser } from './lib.mjs';

const [url, outdir] = process.argv.slice(2);

await withBrowser(async (browser, errors) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  watchErrors(page, errors);
  await page.goto(url);
  await page.waitForSelector('#crashes li.crash button', { timeout: 60000 });
  await page.click('#crashes li.crash button');
  await page.waitForSelector('#crash-panel:not([hidden]) table.frames', { timeout: 10000 });
  const facts = await page.$$eval('#crash-detail dl.facts div', (ds) =>
    Object.fromEntries(ds.map((d) => [d.querySelector('dt').textContent, d.querySelector('dd').textContent])));
  check(facts.EXCCAUSE === '9 LoadStoreAlignmentCause', `EXCCAUSE by name: ${facts.EXCCAUSE}`);
  check(/^0x[0-9a-f]{8}$/.test(facts.EXCVADDR || '') && facts.EXCVADDR !== '0x00000000',
    `and the address it faulted on: ${facts.EXCVADDR}`);
  const api = await page.evaluate(async () => (await (await fetch('/api/v1/crashes')).json()).crashes[0]);
  check(api.exccause === 9 && api.excvaddr === parseInt(facts.EXCVADDR, 16),
    `the page shows what the daemon stored (exccause ${api.exccause}, excvaddr ${api.excvaddr})`);
  const frames = await page.$$eval('#crash-detail table.frames tr', (trs) => trs.slice(1).map((tr) => tr.textContent));
  check(frames.length > 1 && frames.every((f) => /[a-z_]+\+0x[0-9a-f]+/.test(f)) && frames.some((f) => f.includes('core1_demo.c')),
    `the real program's backtrace is named with no upload (${frames.join(' | ')})`);
  await shot(page, `${outdir}/emulated-crash.png`);
});
