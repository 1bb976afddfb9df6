// A raw, authenticated submission session over loopback (plain text is allowed there by
// default), for exact wire checks.
import { LineClient } from '../helpers/line-client.js';

export async function authedSession(port: number, user = 'alice@example.test', pass = 'pw-alice-1', host = '127.0.0.1'): Promise<LineClient> {
  const c = await LineClient.connect(port, host);
  const greeting = await c.reply();
  if (!greeting[0]!.startsWith('220 ')) throw new Error(`greeting: ${greeting.join('|')}`);
  c.send('EHLO client.test');
  await c.reply();
  const r = await c.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`);
  if (!r.startsWith('235 ')) throw new Error(`auth: ${r}`);
  return c;
}
