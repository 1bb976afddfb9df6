// The trace fields a delivering MTA prepends (RFC 5321 4.4; Delivered-To as Postfix and
// Dovecot write it). Every value that came from the client is stripped of control
// characters so that a crafted HELO or sender cannot inject header lines.
import type { InboundEnvelope } from './types.js';

const CONTROL = /[\x00-\x1f\x7f]/g;
const clean = (s: string, max = 256): string => s.replace(CONTROL, '').slice(0, max);

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 3.3 date-time in the server's local zone. */
export function rfc5322Date(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `${DAYS[d.getDay()]}, ${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

export function traceHeaders(
  env: InboundEnvelope,
  deliveredTo: string,
  originalRecipient: string,
  hostname: string,
  now: Date,
): Buffer {
  const from = clean(env.mailFrom);
  const helo = clean(env.heloName) || 'unknown';
  const ip = clean(env.remoteAddress, 64);
  const lines = [
    `Return-Path: <${from}>`,
    `Delivered-To: ${clean(deliveredTo)}`,
    `Received: from ${helo} ([${ip}])`,
    `\tby ${hostname} with ${env.protocol} id ${clean(env.sessionId, 64)}`,
    `\tfor <${clean(originalRecipient)}>; ${rfc5322Date(now)}`,
  ];
  return Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
}
