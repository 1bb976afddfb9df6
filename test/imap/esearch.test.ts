// ESEARCH (RFC 4731): SEARCH and UID SEARCH with RETURN (MIN MAX ALL COUNT), exact replies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { append, Imap, message, startImapServer } from './client.js';

let srv: TestServer;
let i: Imap;
beforeAll(async () => {
  srv = await startImapServer();
  i = await Imap.login(srv);
  for (const [n, flags] of [
    [1, '\\Flagged'],
    [2, '\\Flagged'],
    [3, '\\Flagged \\Deleted'],
    [4, ''],
    [5, '\\Flagged'],
    [6, '\\Flagged'],
  ] as const) {
    expect((await append(i, 'INBOX', message(`m${n}`), flags)).at(-1)).toMatch(/ OK /);
  }
  await i.cmd('SELECT INBOX');
  // UID 3 goes: sequence numbers and UIDs differ from here on.
  expect((await i.cmd('EXPUNGE')).at(-1)).toMatch(/ OK /);
});
afterAll(async () => {
  i?.close();
  await srv?.stop();
});

/** The reply lines with the tag (also inside `(TAG "...")`) replaced by T. */
async function run(text: string): Promise<string[]> {
  const lines = await i.cmd(text);
  const tag = lines.at(-1)!.split(' ')[0]!;
  return lines.map((l) => l.replace(`(TAG "${tag}")`, '(TAG "T")').replace(new RegExp(`^${tag} `), 'T '));
}

describe('ESEARCH', () => {
  it('is announced', async () => {
    expect((await i.cmd('CAPABILITY'))[0]!.split(' ')).toContain('ESEARCH');
  });

  it('MIN MAX ALL COUNT, in that order, for sequence numbers and for UIDs', async () => {
    expect(await run('SEARCH RETURN (COUNT ALL MAX MIN) FLAGGED')).toEqual(['* ESEARCH (TAG "T") MIN 1 MAX 5 ALL 1:2,4:5 COUNT 4', 'T OK SEARCH completed']);
    expect(await run('UID SEARCH RETURN (MIN MAX ALL COUNT) FLAGGED')).toEqual(['* ESEARCH (TAG "T") UID MIN 1 MAX 6 ALL 1:2,5:6 COUNT 4', 'T OK UID SEARCH completed']);
    expect(await run('UID SEARCH RETURN (COUNT) UNFLAGGED')).toEqual(['* ESEARCH (TAG "T") UID COUNT 1', 'T OK UID SEARCH completed']);
  });

  it('RETURN () means ALL; CHARSET may follow RETURN; no match leaves out MIN/MAX/ALL', async () => {
    expect(await run('SEARCH RETURN () ALL')).toEqual(['* ESEARCH (TAG "T") ALL 1:5', 'T OK SEARCH completed']);
    expect(await run('UID SEARCH RETURN (ALL) CHARSET UTF-8 SUBJECT m4')).toEqual(['* ESEARCH (TAG "T") UID ALL 4', 'T OK UID SEARCH completed']);
    expect(await run('SEARCH RETURN (MIN MAX ALL COUNT) KEYWORD $Nothing')).toEqual(['* ESEARCH (TAG "T") COUNT 0', 'T OK SEARCH completed']);
    expect(await run('UID SEARCH RETURN (MIN) KEYWORD $Nothing')).toEqual(['* ESEARCH (TAG "T") UID', 'T OK UID SEARCH completed']);
    // Plain SEARCH is unchanged.
    expect(await run('SEARCH FLAGGED')).toEqual(['* SEARCH 1 2 4 5', 'T OK SEARCH completed']);
  });

  it('unknown return options are BAD (SAVE needs SEARCHRES, not offered)', async () => {
    expect(await run('SEARCH RETURN (SAVE) ALL')).toEqual(['T BAD Error in IMAP command SEARCH: Unknown SEARCH return option SAVE']);
    expect(await run('SEARCH RETURN ALL')).toEqual(['T BAD Error in IMAP command SEARCH: Expected a list of search return options']);
  });
});
