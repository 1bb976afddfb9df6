// The shape every network service exposes to the composition root.
import type { AddressInfo } from 'node:net';

export interface ListenerConfig {
  enabled: boolean;
  /** Addresses to bind; each gets its own socket on `port`. */
  bind: string[];
  port: number;
  /** CIDR allowlist; empty = anyone who can reach the bound address. */
  allow: string[];
  /** Connections open at once on this listener; more are refused. */
  maxConnections: number;
  /** Silence from a client for this long ends its session. */
  idleTimeoutSeconds: number;
}

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Stops accepting, lets running transactions finish up to the deadline, then closes. */
  stop(): Promise<void>;
  /** Bound addresses (tests start on port 0 and read the real port here). */
  addresses(): AddressInfo[];
}
