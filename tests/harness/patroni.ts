/** What the tests and the benchmark share about the automated-failover (Patroni) mode. */
import { PATRONI_TIMING } from "../../components/engines/postgres/patroni";

/** Stands for an image built from images/patroni/Dockerfile; the harness runs Debian's binaries. */
export const PATRONI_IMAGE = "registry.example.com/postgres-patroni:17.6";

/** The bound the README states: a dead leader's lock expires within ttl, and a replica acts within two of
 * Patroni's loops after that (one to notice, one to promote and be writable). */
export const AUTOMATED_FAILOVER_BOUND_MS = (PATRONI_TIMING.ttl + 2 * PATRONI_TIMING.loop_wait) * 1000;
