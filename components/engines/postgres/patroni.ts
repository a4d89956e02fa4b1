/**
 * Kept at this path for tests/harness and bench/, which import Patroni's timings from here; the Patroni
 * topology itself lives in ./topologies/patroni/.
 */
export { PATRONI_TIMING } from "./topologies/patroni/timing";
