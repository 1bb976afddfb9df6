// `mailserver queue list|show|retry|delete`: the outbound queue, read from and written to
// its directory. A running daemon notices changes within relay.scanSeconds.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { isQueueId, QueueStore, type QueueItem } from '../relay/queue-store.js';
import { queueDir } from '../smtp/index.js';
import type { GlobalOptions } from './context.js';
import { CliError } from './errors.js';
import { table } from './format.js';

async function store(globals: GlobalOptions): Promise<QueueStore> {
  const cfg = await loadConfig(globals.config !== undefined ? { path: globals.config } : {});
  return new QueueStore(queueDir(cfg));
}

async function one(s: QueueStore, id: string): Promise<QueueItem> {
  if (!isQueueId(id)) throw new CliError(`not a queue id: ${id}`);
  try {
    return await s.load(id);
  } catch {
    throw new CliError(`no such message in the queue: ${id}`);
  }
}

const age = (ms: number): string => {
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m}m` : m < 2880 ? `${Math.floor(m / 60)}h${m % 60}m` : `${Math.floor(m / 1440)}d`;
};

export function registerQueueCommands(queue: Command, globals: () => GlobalOptions): void {
  queue
    .command('list')
    .description('list queued messages with each recipient\'s state')
    .action(async () => {
      const items = await (await store(globals())).loadAll();
      if (items.length === 0) {
        process.stdout.write('queue is empty\n');
        return;
      }
      const rows = items.map((it) => [
        it.env.id,
        age(Date.now() - it.env.createdAt),
        String(it.env.size),
        `<${it.env.mailFrom}>`,
        it.rcpts.map((r) => `${r.address}:${r.status}`).join(' '),
      ]);
      process.stdout.write(table([['ID', 'AGE', 'SIZE', 'FROM', 'RECIPIENTS'], ...rows]));
    });

  queue
    .command('show <id>')
    .description('show one message: envelope, recipients with their last reply, header section')
    .action(async (id: string) => {
      const s = await store(globals());
      const it = await one(s, id);
      const out: string[] = [
        `id:       ${it.env.id}`,
        `from:     <${it.env.mailFrom}>${it.env.user ? ` (user ${it.env.user})` : ''}`,
        `arrived:  ${new Date(it.env.createdAt).toISOString()}`,
        `size:     ${it.env.size}`,
      ];
      for (const r of it.rcpts) {
        const next = r.status === 'deferred' ? ` next ${new Date(r.next).toISOString()}` : '';
        out.push(`rcpt:     ${r.address} ${r.status} (${r.attempts} attempts)${next}${r.lastReply ? ` — ${r.lastReply}` : ''}`);
      }
      const head: Buffer[] = [];
      let n = 0;
      for await (const c of s.openBody(it.env) as AsyncIterable<Buffer>) {
        head.push(c);
        n += c.length;
        if (n > 64 * 1024) break;
      }
      const text = Buffer.concat(head).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      out.push('', (end >= 0 ? text.slice(0, end) : text).replace(/\r\n/g, '\n'));
      process.stdout.write(out.join('\n') + '\n');
    });

  queue
    .command('retry [ids...]')
    .description('retry deferred recipients now (all messages when no id is given)')
    .action(async (ids: string[]) => {
      const s = await store(globals());
      const items = ids.length ? await Promise.all(ids.map((id) => one(s, id))) : await s.loadAll();
      for (const it of items) await s.append(it.env.id, { t: 'retry', at: Date.now() });
      process.stdout.write(`marked ${items.length} message(s) for retry\n`);
    });

  queue
    .command('delete <ids...>')
    .description('remove messages from the queue without delivering or bouncing them')
    .action(async (ids: string[]) => {
      const s = await store(globals());
      for (const id of ids) {
        await one(s, id);
        await s.remove(id);
      }
      process.stdout.write(`deleted ${ids.length} message(s)\n`);
    });
}
