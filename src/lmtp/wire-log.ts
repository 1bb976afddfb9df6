// Adapts smtp-server's bunyan-style logger calls to our pino session logs. The library
// logs every command and reply at debug: that is wire traffic, which belongs at trace.
// Every refusal it sends on its own (syntax errors, wrong sequence, line too long) gets
// one info line, so each bad input leaves a trace in the log even at the default level.
import type { Logger } from 'pino';

type Entry = Record<string, unknown> | undefined;
type LogFn = (entry: Entry, message?: string, ...args: unknown[]) => void;

const ERROR_REPLY = /^[45]\d\d[ -]/;

function fields(entry: Entry, args: unknown[]): Record<string, unknown> {
  const { cid, component: _component, ...rest } = entry ?? {};
  const out: Record<string, unknown> = { ...rest };
  if (cid !== undefined) out.sid = cid;
  if (args.length > 0) out.args = args;
  return out;
}

export function smtpServerLogger(log: Logger): Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', LogFn> {
  const at =
    (level: 'trace' | 'debug' | 'warn' | 'error' | 'fatal'): LogFn =>
    (entry, message, ...args) =>
      log[level](fields(entry, args), message ?? '');
  return {
    trace: at('trace'),
    debug(entry, message, ...args) {
      const payload = args[0];
      if (entry?.tnx === 'send' && typeof payload === 'string' && ERROR_REPLY.test(payload)) {
        log.info({ sid: entry.cid, reply: payload }, 'error reply');
        return;
      }
      log.trace(fields(entry, args), message ?? '');
    },
    // Its info lines (listening, connection from …) repeat what our own logs say.
    info: at('debug'),
    warn: at('warn'),
    // Socket errors from clients (resets, TLS garbage) are the client's problem, not ours.
    error: at('warn'),
    fatal: at('fatal'),
  };
}
