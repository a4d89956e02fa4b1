/**
 * The metrics exporter sidecar of every pod, run from its rendered container (Pod.startSidecar): Debian's
 * prometheus-postgres-exporter in place of the image's /bin/postgres_exporter, listening on the pod's
 * address instead of every address. Everything else (queries file, socket, role, password file, uid) is as rendered.
 */
import { EXPORTER_BINARY, EXPORTER_CONTAINER } from "../../components/monitoring/pod";
import { Cluster } from "./cluster";
import { Sidecars } from "./sidecars";

export const DEBIAN_EXPORTER = "/usr/bin/prometheus-postgres-exporter";

export class Exporters extends Sidecars {
    constructor(c: Cluster) {
        super(c, EXPORTER_CONTAINER, (argv, pod) =>
            argv.map((a) => (a === EXPORTER_BINARY ? DEBIAN_EXPORTER : a.replace(/^--web\.listen-address=:/, `--web.listen-address=${pod.address}:`))),
        );
    }
}
