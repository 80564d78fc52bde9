// A core-1 update from the dashboard: the file is chosen, the dialog
// says what will happen, the bar follows the transfer, and the page says
// "confirmed"; a panicking image is rolled back and the page says why; a
// file that is not an image is refused with the daemon's reason.  What
// the page shows is checked against the board's own slot record (read
// from its files here, by its documented layout), not against the page.
// TAP output.  usage: node update.mjs URL OUTDIR TOKEN_FILE SLOTS_DIR IMG_OK IMG_PANIC
import { readFileSync } from 'node:fs';
import { check, shot, waitFor, watchErrors, withBrowser } from './lib.mjs';

const [url, outdir, tokenFile, slots, imgOk, imgPanic] = process.argv.slice(2);
const token = readFileSync(tokenFile, 'utf8').trim();

function crc32c(buf) {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (c & 1 ? 0x82f63b78 : 0);
  }
  return (c ^ 0xffffffff) >>> 0;
}

// The newer whole copy of the slot record (docs/protocol.md).
function record() {
  const copies = [0, 1].map((i) => {
    let b;
    try { b = readFileSync(`${slots}/record-${i}`); } catch (e) { return null; }
    if (b.length < 200 || b.readUInt32LE(196) !== crc32c(b.subarray(0, 196)) ||
      b.readUInt32LE(0) !== 0x31534341) return null;
    return { seq: b.readUInt32LE(4), active: b[8], trial: b[10], lastError: b[12] };
  }).filter((c) => c);
  if (!copies.length) return null;
  return copies.reduce((a, b) => (((b.seq - a.seq) >>> 0) < 2 ** 31 ? b : a));
}

await withBrowser(async (browser, errors) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
  watchErrors(page, errors, (where, text) => /status of 422/.test(text));
  await page.addInitScript((t) => localStorage.setItem('appcore.token', t), token);
  await page.goto(url);
  await page.waitForSelector('#core1-facts dt', { timeout: 20000 });
  const runs = await page.$eval('#core1-facts', (dl) => dl.textContent);
  check(/runs\s*slot A/.test(runs), `the panel says which slot runs before (${runs.replace(/\s+/g, ' ')})`);

  // A good image, confirmed after 2 s.
  await page.setInputFiles('#core1-file', imgOk);
  await page.fill('#core1-confirm', '2');
  await page.click('#btn-update');
  const dialog = await page.$eval('#confirm-text', (p) => p.textContent);
  check(/slot core 1 does not run/.test(dialog) && /2 s/.test(dialog),
    `the dialog says what happens: ${dialog}`);
  await page.click('#confirm-ok');
  const seen = new Set();
  const final = await waitFor(async () => {
    const st = await page.$eval('#core1-status', (p) => p.dataset.state || '');
    seen.add(st);
    return st;
  }, (st) => ['confirmed', 'rolled-back', 'failed', 'refused'].includes(st), 30000);
  const rec = record();
  check(final === 'confirmed' && rec && rec.active === 1 && rec.trial === 0,
    `the page says confirmed and the board's record says slot B runs (${[...seen].join(' > ')})`);
  const bar = await page.$eval('#core1-progress', (p) => ({ hidden: p.hidden, v: p.value, max: p.max }));
  check(!bar.hidden && bar.v === bar.max && bar.max > 1000, `the bar is full (${bar.v}/${bar.max})`);
  await waitFor(() => page.$eval('#core1-facts', (dl) => dl.textContent), (t) => /slot B/.test(t), 5000);
  await shot(page, `${outdir}/update-confirmed.png`, false);

  // A panicking image: rolled back, the page says why.
  await page.setInputFiles('#core1-file', imgPanic);
  await page.fill('#core1-confirm', '3');
  await page.click('#btn-update');
  await page.click('#confirm-ok');
  const final2 = await waitFor(() => page.$eval('#core1-status', (p) => p.dataset.state || ''),
    (st) => ['rolled-back', 'failed', 'refused'].includes(st), 30000);
  const text2 = await page.$eval('#core1-status', (p) => p.textContent);
  const rec2 = record();
  check(final2 === 'rolled-back' && /panicked/.test(text2) && rec2.active === 1 && rec2.lastError === 12,
    `a panicking image is rolled back and the page says why: ${text2} (record: slot ${rec2.active}, error ${rec2.lastError})`);

  // Not an image at all: refused, with the daemon's reason.
  await page.setInputFiles('#core1-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, core 1') });
  await page.click('#btn-update');
  await page.click('#confirm-ok');
  const final3 = await waitFor(() => page.$eval('#core1-status', (p) => p.dataset.state || ''),
    (st) => st === 'refused', 10000);
  const text3 = await page.$eval('#core1-status', (p) => p.textContent);
  check(final3 === 'refused' && /shorter than the 40-byte image header/.test(text3) && record().active === 1,
    `a text file is refused with the reason, and nothing changed on the board: ${text3}`);
  await shot(page, `${outdir}/update-refused.png`, false);
}, 'no console errors but the refusal\'s 422');
