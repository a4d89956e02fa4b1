/** What the tests and the benchmark share about the automated-failover (Patroni) mode. */
import { PATRONI_TIMING } from "../../components/engines/postgres/topologies/patroni/timing";

/** Stands for an image built from images/postgres/Dockerfile; the harness runs Debian's PostgreSQL and the
 * image's Patroni release (tools/patroni/install.sh). */
export const PATRONI_IMAGE = "registry.example.com/postgres-patroni:17.6";

/** The bound docs/failover.md states: a dead leader's lock expires within ttl, and a replica acts within two of
 * Patroni's loops after that (one to notice, one to promote and be writable). */
export const AUTOMATED_FAILOVER_BOUND_MS = (PATRONI_TIMING.ttl + 2 * PATRONI_TIMING.loop_wait) * 1000;
