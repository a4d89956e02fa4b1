/** Where the server and Patroni find the TLS files: the TLS Secret's keys under the directory it is mounted at. */
import { TLS_KEYS } from "../naming";

/** Where the database container mounts the TLS Secret (docs/pod-contract.md). */
export const TLS_DIR = "/etc/replicated-db/tls";

export function tlsFiles(tlsDir: string): { cert: string; key: string; ca: string } {
    return { cert: `${tlsDir}/${TLS_KEYS.cert}`, key: `${tlsDir}/${TLS_KEYS.key}`, ca: `${tlsDir}/${TLS_KEYS.ca}` };
}
