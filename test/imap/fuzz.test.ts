// Session-level fuzz: random and mutated input in every state (before login, logged in,
// mailbox selected, inside IDLE and AUTHENTICATE). The daemon must never log an error or
// answer SERVERBUG, every connection ends in a reply (BAD/NO/OK or BYE), and the server
// keeps serving a clean session afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { LineClient } from '../helpers/line-client.js';
import { append, Imap, message, PASS, startImapServer, USER } from './client.js';
import { mulberry32 } from '../helpers/fuzz.js';

let srv: TestServer;
beforeAll(async () => {
  const level = process.env.TEST_LOG_LEVEL;
  process.env.TEST_LOG_LEVEL = 'info';
  srv = await startImapServer({ imap: { maxLiteralBytes: 4096, maxLineBytes: 2048 }, auth: { failureDelayMs: 0, maxFailuresPerIp: 100000 } });
  if (level === undefined) delete process.env.TEST_LOG_LEVEL;
  else process.env.TEST_LOG_LEVEL = level;
  const i = await Imap.login(srv);
  for (let k = 0; k < 5; k++) await append(i, 'INBOX', message(`fuzz ${k}`), k % 2 ? '\\Seen' : '');
  await i.cmd('CREATE Fuzz');
  i.close();
});
afterAll(async () => {
  await srv?.stop();
});

const CORPUS = [
  'CAPABILITY', 'NOOP', 'LOGOUT', 'ID ("name" "fuzz")', 'ID NIL', 'ENABLE CONDSTORE', 'STARTTLS',
  `LOGIN ${USER} ${PASS}`, 'AUTHENTICATE PLAIN', 'AUTHENTICATE LOGIN', 'AUTHENTICATE PLAIN AGFsaWNlAHg=',
  'SELECT INBOX', 'EXAMINE Fuzz', 'CREATE Fuzz.Sub', 'DELETE Fuzz.Sub', 'RENAME Fuzz.Sub Fuzz.Other',
  'SUBSCRIBE Fuzz', 'UNSUBSCRIBE Fuzz', 'LIST "" *', 'LIST "" %', 'LSUB "" *', 'NAMESPACE',
  'STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)', 'APPEND Fuzz (\\Seen) {10+}\r\nHi: there\r\n',
  'APPEND Fuzz {12}\r\n', 'CHECK', 'CLOSE', 'UNSELECT', 'EXPUNGE', 'UID EXPUNGE 1:*',
  'SEARCH ALL', 'SEARCH CHARSET UTF-8 OR FROM bob NOT SEEN', 'SEARCH CHARSET KOI8-R TEXT x', 'UID SEARCH 1:* UNDELETED',
  'FETCH 1:* (FLAGS UID)', 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODYSTRUCTURE ENVELOPE)', 'FETCH 2 BODY[]<0.10>',
  'UID FETCH 1:4294967295 (RFC822.SIZE INTERNALDATE)', 'FETCH * FAST', 'STORE 1 +FLAGS (\\Flagged $Fuzz)',
  'STORE 1:* -FLAGS.SILENT (\\Seen)', 'UID STORE 2 FLAGS (\\Answered)', 'COPY 1 Fuzz', 'UID MOVE 3 Fuzz', 'MOVE 1 Nowhere',
  'IDLE', 'DONE',
];

function mutate(r: () => number, cmd: string): Buffer {
  const pick = r();
  let s = cmd;
  if (pick < 0.25) return Buffer.from(s);
  if (pick < 0.4) s = s.slice(0, Math.floor(r() * s.length)); // truncated
  else if (pick < 0.55) {
    const pos = Math.floor(r() * s.length);
    s = s.slice(0, pos) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(pos + 1);
  } else if (pick < 0.65) s = s.replace(/\d+/, String(Math.floor(r() * 2 ** 33)));
  else if (pick < 0.75) s = `${s} {${Math.floor(r() * 6000)}${r() < 0.5 ? '+' : ''}}`;
  else if (pick < 0.85) s = s.replace(/[()]/, '');
  else {
    const bytes = Buffer.alloc(1 + Math.floor(r() * 64));
    for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(r() * 256);
    return bytes;
  }
  return Buffer.from(s, 'latin1');
}

type State = 'notAuthenticated' | 'authenticated' | 'selected' | 'idle' | 'authenticate';

async function fuzzSession(seed: number, state: State): Promise<string[]> {
  const r = mulberry32(seed);
  const c = await LineClient.connect(srv.port('imap'));
  const lines: string[] = [];
  const greeting = await c.line();
  lines.push(greeting ?? '');
  const setup: Record<State, string[]> = {
    notAuthenticated: [],
    authenticated: [`s1 LOGIN ${USER} ${PASS}`],
    selected: [`s1 LOGIN ${USER} ${PASS}`, 's2 SELECT INBOX'],
    idle: [`s1 LOGIN ${USER} ${PASS}`, 's2 SELECT INBOX', 's3 IDLE'],
    authenticate: ['s1 AUTHENTICATE LOGIN'],
  };
  for (const l of setup[state]) c.send(l);
  for (let k = 0; k < 25; k++) {
    const tag = r() < 0.1 ? '' : `f${k} `;
    const line = mutate(r, CORPUS[Math.floor(r() * CORPUS.length)]!);
    c.write(Buffer.concat([Buffer.from(tag), line, Buffer.from(r() < 0.9 ? '\r\n' : '\n')]));
  }
  // Whatever state the fuzz left, a clean end: filler for a literal still awaited (the fuzz
  // announces up to 6000 bytes), DONE for IDLE, '*' for SASL, then LOGOUT.
  c.write(`\r\n${'x'.repeat(6100)}\r\nDONE\r\n*\r\nzz LOGOUT\r\n`);
  for (;;) {
    let l: string | null;
    try {
      l = await c.line(5_000);
    } catch {
      if (process.env.FUZZ_DEBUG) console.log('STUCK', seed, state, JSON.stringify(lines.slice(-6)));
      // A literal the fuzz announced may still wait for bytes: that is the client's doing.
      break;
    }
    if (l === null) break;
    lines.push(l);
  }
  c.close();
  return lines;
}

describe('IMAP session fuzz', () => {
  for (const state of ['notAuthenticated', 'authenticated', 'selected', 'idle', 'authenticate'] as const) {
    it(`random and mutated input ${state}: no error, no SERVERBUG, the connection answers`, async () => {
      const seeds = Array.from({ length: 12 }, (_, k) => 1000 * (state.length + 1) + k);
      for (let k = 0; k < seeds.length; k += 6) {
        const batch = await Promise.all(seeds.slice(k, k + 6).map((s) => fuzzSession(s, state)));
        for (const lines of batch) {
          expect(lines[0]).toMatch(/^\* OK /);
          expect(lines.filter((l) => l.includes('SERVERBUG'))).toEqual([]);
          // Every session got replies to what it sent (tagged or untagged BAD/NO/OK, or BYE).
          expect(lines.some((l) => / (OK|NO|BAD) |^\* BYE /.test(l))).toBe(true);
        }
      }
      expect(srv.logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
      const i = await Imap.login(srv);
      expect(await i.run('SELECT INBOX')).toContainEqual(expect.stringMatching(/^T OK \[READ-WRITE\]/));
      i.close();
    }, 120_000);
  }
});
