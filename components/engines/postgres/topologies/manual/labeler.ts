/**
 * The role-labeler sidecar of the manual topology. Services select pods by label, and the pods of a
 * StatefulSet share their template's labels, so each pod labels itself with the role its own server
 * reports (`$RDB_RUN_DIR/role`, written by the supervisor), not with a role derived from its ordinal.
 */
import { ROLE_LABEL } from "../../../../naming";
import { EngineContext } from "../../../../core/engine";
import { Sidecar } from "../../../../core/topology";
import { field } from "../../pod";

export const LABELER_CONTAINER = "role-labeler";
/** How often the sidecar compares the role file with its pod's label, in seconds. */
const LABEL_INTERVAL = 5;
/** The sidecar's own writable directory (an emptyDir in memory): its heartbeat file, nothing else. */
export const LABELER_STATE_VOLUME = "labeler-state";
const LABELER_STATE_DIR = "/run/role-labeler";
/**
 * The oldest heartbeat the liveness probe accepts, in seconds. One loop is at most the interval plus the
 * patch's 10 s curl timeout (15 s); 60 s is four such loops, so only a loop that has really stopped fails.
 */
const HEARTBEAT_MAX_AGE = 60;

export function labeler(ctx: EngineContext): Sidecar {
    const { args, paths } = ctx;
    return {
        container: {
            name: LABELER_CONTAINER,
            image: args.labelerImage,
            command: ["/bin/sh", `${paths.scripts}/role-labeler.sh`],
            env: [
                { name: "POD_NAME", ...field("metadata.name") },
                { name: "POD_NAMESPACE", ...field("metadata.namespace") },
                { name: "RDB_RUN_DIR", value: paths.run },
                { name: "RDB_ROLE_LABEL", value: ROLE_LABEL },
                { name: "RDB_LABEL_INTERVAL", value: String(LABEL_INTERVAL) },
                { name: "RDB_SERVICEACCOUNT_DIR", value: paths.serviceAccount },
                { name: "RDB_LABELER_HEARTBEAT", value: `${LABELER_STATE_DIR}/heartbeat` },
                { name: "RDB_LABELER_MAX_AGE", value: String(HEARTBEAT_MAX_AGE) },
            ],
            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
            // A hung loop leaves the role label stale and the Services routing by it: the kubelet restarts the
            // sidecar when its heartbeat is too old. The probe only reads the file the loop writes.
            livenessProbe: {
                exec: { command: ["/bin/sh", `${paths.scripts}/role-labeler-alive.sh`] },
                timeoutSeconds: 2,
                periodSeconds: 10,
                failureThreshold: 3,
            },
        },
        // The scripts to run, and the role file to read; the sidecar writes nothing of the pod's.
        reads: ["scripts", "run"],
        // Its heartbeat, for its liveness probe.
        scratch: { [LABELER_STATE_VOLUME]: LABELER_STATE_DIR },
        // It alone talks to the API in this topology: the database container gets no token.
        apiToken: true,
    };
}
