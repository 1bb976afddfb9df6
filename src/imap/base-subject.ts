// The "base subject" of RFC 5256 2.1, which SORT SUBJECT, THREAD=ORDEREDSUBJECT and the
// subject grouping of THREAD=REFERENCES all compare. Pure.
//
// The RFC says every server and disconnected client MUST use exactly this algorithm, so the
// steps below are the RFC's, in its order, with its ABNF (section 5):
//   subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
//   subj-blob    = "[" *BLOBCHAR "]" *WSP          ; BLOBCHAR: any CHAR but "[" and "]"
//   subj-leader  = (*subj-blob subj-refwd) / WSP
//   subj-trailer = "(fwd)" / WSP
//   subj-fwd-hdr = "[fwd:"   subj-fwd-trl = "]"
// ABNF strings are case-insensitive. Step 1 decodes first (RFC 2047 words, raw 8-bit
// Japanese through the project's header decoder), so `Re: =?ISO-2022-JP?B?...?=` and the
// original Japanese subject reduce to the same text. Non-ASCII text passes through the
// steps untouched (a blob may hold any character but the brackets).
import { decodeHeaderValue } from '../mime/decode.js';

export interface BaseSubject {
  /** The base subject as text (not yet case-mapped). */
  text: string;
  /** RFC 5256 2.1: extraction removed a subj-refwd, a "(fwd)" trailer, or a subj-fwd-hdr/trl
   *  pair; THREAD=REFERENCES step 5 treats such a message as a reply or forward. */
  replyOrForward: boolean;
}

/** *subj-blob subj-refwd at the start (step 3's first alternative). */
const LEADER = /^(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:/i;
/** One subj-blob at the start (step 4). */
const BLOB = /^\[[^[\]]*\] */;

/** `value`: the Subject field's unfolded raw value (latin1 binary string), or undefined when missing. */
export function baseSubject(value: string | undefined): BaseSubject {
  if (value === undefined || value === '') return { text: '', replyOrForward: false };
  // (1) Decode, then tabs and continuations to space, runs of spaces to one space.
  let s = decodeHeaderValue(value).replace(/[\t\r\n]/g, ' ').replace(/ {2,}/g, ' ');
  let rf = false;
  for (;;) {
    // (2) Trailing subj-trailer ("(fwd)" or WSP), until none is left.
    for (;;) {
      if (s.endsWith(' ')) s = s.slice(0, -1);
      else if (s.length >= 5 && s.slice(-5).toLowerCase() === '(fwd)') {
        s = s.slice(0, -5);
        rf = true;
      } else break;
    }
    // (3) subj-leader, and (4) a subj-blob when something is left after it; (5) repeat.
    for (;;) {
      let changed = false;
      if (s.startsWith(' ')) {
        s = s.slice(1);
        changed = true;
      } else {
        const m = LEADER.exec(s);
        if (m) {
          s = s.slice(m[0].length);
          rf = true;
          changed = true;
        }
      }
      const b = BLOB.exec(s);
      if (b && b[0].length < s.length) {
        s = s.slice(b[0].length);
        changed = true;
      }
      if (!changed) break;
    }
    // (6) "[fwd: ... ]": unwrap and start again from (2).
    if (s.length >= 6 && s.slice(0, 5).toLowerCase() === '[fwd:' && s.endsWith(']')) {
      s = s.slice(5, -1);
      rf = true;
      continue;
    }
    // (7)
    return { text: s, replyOrForward: rf };
  }
}
