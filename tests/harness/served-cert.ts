/**
 * The certificate a pod's server presents to a new connection, as a client in the cluster sees it: dialled by
 * the pod's name, verified against the cluster's CA and that name. PostgreSQL's port speaks TLS after its own
 * STARTTLS exchange; Patroni's REST API speaks it at once.
 */
import { spawnSync } from "child_process";
import { podAddress } from "./pod";

export interface CertTarget {
    host(ordinal: number): string;
    caFile?: string;
}

/** The serial number of the certificate pod `ordinal` serves on `port`; throws if none verifies. */
export function servedSerial(c: CertTarget, ordinal: number, port = 5432): string {
    if (!c.caFile) throw new Error("the cluster serves no certificate: TLS is off");
    const starttls = port === 5432 ? "-starttls postgres" : "";
    const script = `openssl s_client ${starttls} -connect "$ADDR:${port}" -servername "$HOST" -verify_hostname "$HOST" -CAfile "$CA" -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial`;
    const r = spawnSync("bash", ["-c", script], { env: { PATH: process.env.PATH, ADDR: podAddress(ordinal), HOST: c.host(ordinal), CA: c.caFile }, encoding: "utf8", timeout: 15000 });
    if (r.status !== 0 || !r.stdout.trim()) throw new Error(`pod ${ordinal} port ${port}: no verified certificate (${r.stderr.trim()})`);
    return r.stdout.trim();
}
