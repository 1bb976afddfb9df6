// Both real scanners behind one pipeline (issue 7): ClamAV runs first, so a message with a
// virus and spam is refused as a virus and Rspamd is never asked; spam is Rspamd's to
// refuse; with clamd gone and ClamAV on `accept`, Rspamd still files spam in Junk and the
// copy says which scanner was skipped. /readyz lists both scanners.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { requirePeer } from '../helpers/peers.js';
import { CLAMD, EICAR, startClamd, type Clamd } from '../helpers/clamd.js';
import { GTUBE, rspamdAvailable, startRspamd, type Rspamd } from '../helpers/rspamd.js';
import { metrics } from '../../src/metrics/index.js';
import { lmtpSend, plainMessage, storedMessages } from './support.js';

const run = requirePeer(CLAMD, 'ClamAV + Rspamd') && rspamdAvailable('ClamAV + Rspamd');
const RCPTS = ['alice@example.test', 'bob@example.test'];

let clamd: Clamd;
let rspamd: Rspamd;
let srv: TestServer;

const count = async (scanner: string, result: string): Promise<number> =>
  (await metrics.scanResults.get()).values.find((v) => v.labels.scanner === scanner && v.labels.result === result)?.value ?? 0;

describe.runIf(run)('ClamAV then Rspamd (both real)', () => {
  beforeAll(async () => {
    [clamd, rspamd] = await Promise.all([startClamd(), startRspamd()]);
    srv = await startTestServer({
      scan: { clamav: { host: '127.0.0.1', port: clamd.port, onFailure: 'accept', timeoutSeconds: 5, pingCacheSeconds: 0 }, rspamd: { url: rspamd.url } },
    } as never);
    await srv.app.directory.addDomain('example.test');
    for (const r of RCPTS) await srv.addUser(r, 'pw');
  }, 120_000);
  afterAll(async () => {
    await srv?.stop();
    await Promise.all([clamd?.close(), rspamd?.stop()]);
  });

  it('a virus that is also spam is refused as a virus (554 5.7.1) and Rspamd is not asked', async () => {
    const before = { spam: await count('rspamd', 'spam'), clean: await count('rspamd', 'clean'), virus: await count('clamav', 'virus') };
    const replies = await lmtpSend(srv.lmtpPort, RCPTS, plainMessage(`${GTUBE.reject}\r\n${EICAR}`, 'both'));
    for (const r of replies) expect(r).toMatch(/^554 5\.7\.1 .*virus found \(Eicar-Signature/);
    expect((await count('clamav', 'virus')) - before.virus).toBe(1);
    expect([await count('rspamd', 'spam'), await count('rspamd', 'clean')]).toEqual([before.spam, before.clean]);
  });

  it('GTUBE without a virus passes ClamAV and is refused by Rspamd (550 5.7.1)', async () => {
    const replies = await lmtpSend(srv.lmtpPort, RCPTS, plainMessage(GTUBE.reject, 'gtube only'));
    for (const r of replies) expect(r).toMatch(/^550 5\.7\.1 /);
    expect((await storedMessages(srv.mailRoot)).some((m) => m.text.includes('Subject: gtube only'))).toBe(false);
  });

  it('clamd down with ClamAV on accept: Rspamd still files add-header spam in Junk, marked X-Scan-Skipped: clamav (unreachable)', async () => {
    const ready = await (await fetch(`http://127.0.0.1:${srv.port('http')}/readyz`)).json();
    expect((ready as { checks: Array<{ name: string; ok: boolean }> }).checks.filter((c) => c.name.startsWith('scanner:'))).toEqual([
      { name: 'scanner:clamav', ok: true },
      { name: 'scanner:rspamd', ok: true },
    ]);
    await clamd.stop();
    const replies = await lmtpSend(srv.lmtpPort, ['alice@example.test'], plainMessage(GTUBE.addHeader, 'skipped and spam'));
    expect(replies[0]).toMatch(/^250 /);
    const [copy] = (await storedMessages(srv.mailRoot)).filter((m) => m.text.includes('Subject: skipped and spam'));
    expect(copy?.path).toMatch(/[/]alice[/]\.Junk[/]new[/]/);
    const header = copy!.text.slice(0, copy!.text.indexOf('\n\n'));
    expect(header).toMatch(/^X-Scan-Skipped: clamav \(unreachable\)$/m);
    expect(header).toMatch(/^X-Spam-Flag: YES$/m);
    expect(header.indexOf('X-Scan-Skipped')).toBeLessThan(header.indexOf('X-Spam-Flag'));
  });
});
