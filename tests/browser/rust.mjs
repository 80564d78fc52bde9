// appcored --demo with the Rust core 1 (--core1 rust): its counters, its
// RTT channels and its Rust panic in the dashboard as the C workload's
// are.  The crash list names the panic! by its file:line in the source
// (read here, not from the daemon); the crash view shows its formatted
// message; the log shows the RTT text channel and the defmt channel's
// bytes in hex, each tagged with its channel.
// TAP output.  usage: node rust.mjs URL OUTDIR WORKLOAD_RS
import { readFileSync } from 'node:fs';
import { check, shot, watchErrors, withBrowser } from './lib.mjs';

const [url, outdir, workloadRs] = process.argv.slice(2);
const line = readFileSync(workloadRs, 'utf8').split('\n')
  .findIndex((l) => l.includes('appcore-test: rust panic line')) + 1;

await withBrowser(async (browser, errors) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  watchErrors(page, errors);
  await page.goto(url);
  await page.waitForSelector('#crashes li.crash button', { timeout: 60000 });
  const item = await page.textContent('#crashes li.crash');
  check(line > 0 && item.includes(`src/workload.rs:${line}`),
    `the crash list names the panic! at src/workload.rs:${line}: ${item}`);
  await page.click('#crashes li.crash button');
  await page.waitForSelector('#crash-panel:not([hidden]) .crash-message', { timeout: 10000 });
  const msg = await page.textContent('.crash-message');
  check(/buffer overrun: fill \d+ > 240 frames at block \d+/.test(msg),
    `the crash view shows the Rust panic's formatted message: ${msg}`);
  await page.waitForFunction(() => {
    const t = document.querySelector('#log')?.textContent || '';
    return t.includes('[rtt0 Terminal]') && t.includes('[rtt1 defmt, hex]');
  }, null, { timeout: 15000 }).catch(() => {});
  const log = await page.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
  check(log.some((l) => /\[rtt0 Terminal\]  rtt: block \d+ dsp\.load \d+ permil$/.test(l)),
    'the log shows the RTT text channel, tagged');
  check(log.some((l) => /\[rtt1 defmt, hex\]  01( [0-9a-f]{2}){6,}$/.test(l)),
    'and the defmt channel as hex bytes, tagged');
  check(log.some((l) => l.includes('core1 up (rust)')),
    'and the Rust workload\'s own log line');
  const names = await page.evaluate(async () =>
    (await (await fetch('/api/v1/devices/1')).json()).counters.map((c) => c.name));
  const shown = await page.textContent('body');
  check(names.includes('audio.frames') && shown.includes('audio.frames'),
    'its counters are on the page');
  await shot(page, `${outdir}/rust-crash.png`);
});
