// Store refusals → IMAP replies (RFC 5530 response codes). The store's message text names
// the mailbox or the rule, never a path, so it can be shown.
import { StoreError } from '../../maildir/types.js';
import { ImapNo } from '../errors.js';

export function storeErrorToImap(err: StoreError): ImapNo {
  switch (err.code) {
    case 'invalid-name':
      return new ImapNo(err.message, 'CANNOT');
    case 'no-mailbox':
      return new ImapNo('Mailbox does not exist', 'NONEXISTENT');
    case 'exists':
      return new ImapNo('Mailbox already exists', 'ALREADYEXISTS');
    case 'no-message':
      return new ImapNo('Some of the requested messages no longer exist', 'EXPUNGEISSUED');
    case 'over-quota':
      return new ImapNo('Quota exceeded', 'OVERQUOTA');
    case 'not-empty':
      return new ImapNo('Mailbox is not empty', 'CANNOT');
  }
}
