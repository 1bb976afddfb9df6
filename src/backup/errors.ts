// The one error type of backup and restore: the operator's problem (bad checksum, missing
// key, unknown component), printed as one line by the CLI. Anything else is our bug.
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}
