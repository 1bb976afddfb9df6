// What restore needs from a malware scanner. The ClamAV client (clamd INSTREAM, the
// filtering issue) implements this once it lands; clamd unpacks tar and gzip itself
// (ScanArchive, on by default), so the archive's plaintext is streamed to it as it is.
export type ScanVerdict = { infected: false } | { infected: true; signature: string };

export interface ArchiveScanner {
  /** Short name for logs and errors ("clamav"). */
  readonly name: string;
  scan(plaintext: NodeJS.ReadableStream, label: string): Promise<ScanVerdict>;
}
