// The CLI's own error kinds: each maps to one stderr line and an exit status.

/** A mistake in the command line itself (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The operator asked for something that cannot be done as given (exit 1). */
export class CliError extends Error {
  override name = 'CliError';
}
