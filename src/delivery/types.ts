// Shapes shared by every entry into the one delivery pipeline (LMTP now; the HTTPS
// ingest endpoint and the outbound queue's local leg later).

/** A protocol-neutral reply; LMTP turns it into one line, HTTP into JSON. */
export interface DeliveryReply {
  code: number; // 250, 451, 550, 552 ...
  enhanced: string; // RFC 3463, e.g. "5.1.1"
  text: string;
}

export interface InboundEnvelope {
  /** Envelope sender; '' for the null sender of bounces. */
  mailFrom: string;
  /** Accepted recipients in RCPT order; the result has one reply per entry. */
  recipients: string[];
  remoteAddress: string;
  heloName: string;
  protocol: 'LMTP' | 'HTTP' | 'ESMTPSA';
  sessionId: string;
}

export const reply = (code: number, enhanced: string, text: string): DeliveryReply => ({ code, enhanced, text });

export const isSuccess = (r: DeliveryReply): boolean => r.code >= 200 && r.code < 300;
