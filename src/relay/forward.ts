// Forwarding: alias destinations outside our domains (directory `external`) become a new
// queue entry, relayed through the smart host like submitted mail. The envelope sender is
// kept (as Postfix does without SRS), so a failure report goes back to the original sender.
// Not DKIM-signed: the From: domain is not ours. The copy is durable before the
// recipient's 250, like any queued message.
import type { Logger } from 'pino';
import type { Forwarder } from '../delivery/pipeline.js';
import { rfc5322Date } from '../delivery/trace-headers.js';
import { reply } from '../delivery/types.js';
import { newQueueId, type QueueEnvelope, type QueueStore } from './queue-store.js';

/** Trace lines beyond this mean a forwarding loop (RFC 5321 6.3; Postfix's hopcount_limit is 50). */
const MAX_HOPS = 50;
const CONTROL = /[\x00-\x1f\x7f]/g;

export function createForwarder(opts: { store: QueueStore; hostname: string; enqueued(env: QueueEnvelope): void; logger?: Logger }): Forwarder {
  return async (env, message, destinations, log) => {
    const id = newQueueId();
    const w = await opts.store.create(id);
    try {
      let hops = 0;
      let inHeader = true;
      let tail = '';
      for await (const chunk of message.open() as AsyncIterable<Buffer>) {
        if (inHeader) {
          const text = tail + chunk.toString('latin1');
          hops += (text.match(/^Received:/gim) ?? []).length;
          const end = text.indexOf('\r\n\r\n');
          if (end >= 0) inHeader = false;
          tail = text.slice(-16);
        }
        await w.write(chunk);
      }
      if (hops >= MAX_HOPS) {
        await w.abort();
        log.warn({ hops, destinations }, 'forwarding loop: too many Received lines');
        return reply(554, '5.4.6', 'Routing loop detected (too many hops)');
      }
      const received =
        `Received: from ${env.heloName.replace(CONTROL, '') || 'unknown'} ([${env.remoteAddress.replace(CONTROL, '')}])\r\n` +
        `\tby ${opts.hostname} with ${env.protocol} id ${id}\r\n\tfor <${destinations[0]!.replace(CONTROL, '')}>; ${rfc5322Date(new Date())}\r\n`;
      const committed = await w.commit({
        mailFrom: env.mailFrom,
        user: '',
        recipients: destinations.map((address) => ({ address })),
        prefix: received,
        createdAt: Date.now(),
      });
      log.info({ qid: id, destinations }, 'forward queued');
      opts.enqueued(committed);
      return reply(250, '2.0.0', `${env.sessionId} Forwarded as ${id}`);
    } catch (err) {
      await w.abort();
      throw err;
    }
  };
}
