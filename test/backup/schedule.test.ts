// The daemon's own schedule: cron-driven runs, rotation to the retention counts, metrics.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toPrune } from '../../src/backup/rotation.js';
import { registry } from '../../src/metrics/index.js';
import { startTestServer, type TestServer } from '../helpers/app.js';

let srv: TestServer | undefined;
afterAll(async () => srv?.stop());

async function runs(kind: string, result: string): Promise<number> {
  const m = (await registry.getSingleMetric('mailserver_backup_runs_total')!.get()).values;
  return m.find((v) => v.labels.kind === kind && v.labels.result === result)?.value ?? 0;
}

describe('backup schedule', () => {
  it('runs from the daemon on its cron expression, rotates to the retention count and counts runs', async () => {
    const before = await runs('daily', 'ok');
    srv = await startTestServer({
      backup: { components: ['directory', 'dkim'], schedule: { enabled: true, daily: '* * * * * *', weekly: '0 0 1 1 *' }, retention: { daily: 2, weekly: 4 } },
    });
    const dir = path.join(srv.dataDir, 'backups');
    const deadline = Date.now() + 20_000;
    while ((await runs('daily', 'ok')) - before < 4) {
      if (Date.now() > deadline) throw new Error('scheduled backups did not run');
      await new Promise((r) => setTimeout(r, 100));
    }
    await srv.app.stop(); // waits for a run in progress
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.'));
    expect(names).toHaveLength(2);
    expect(names.every((n) => /^\d{4}-\d\d-\d\dT\d{6}Z-daily(-\d+)?$/.test(n))).toBe(true);
    expect(srv.logs.some((l) => l.msg === 'backup written' && l.kind === 'daily')).toBe(true);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/mailserver_backup_last_success_timestamp_seconds \d{10}/);
    await rm(srv.dataDir, { recursive: true, force: true });
    srv = undefined;
  }, 30_000);

  it('rotation keeps the newest of each kind and never touches manual backups', () => {
    const f = (name: string) => ({ name, kind: name.split('-').at(-1) as 'daily' | 'weekly' | 'manual' });
    const all = ['2026-01-01T000000Z-daily', '2026-01-02T000000Z-daily', '2026-01-03T000000Z-daily', '2026-01-04T000000Z-weekly', '2026-01-05T000000Z-manual', '2026-01-11T000000Z-weekly'].map(f);
    expect(toPrune(all, { daily: 2, weekly: 1 }).map((x) => x.name)).toEqual(['2026-01-01T000000Z-daily', '2026-01-04T000000Z-weekly']);
    expect(toPrune(all, { daily: 7, weekly: 4 })).toEqual([]);
  });
});
