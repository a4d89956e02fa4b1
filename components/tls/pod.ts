/** What `tls.enabled` adds to the database pods: the TLS Secret's files, in the database container only. */
import { TLS_KEYS } from "../naming";
import { BuildContext } from "../core/context";
import { PodPart } from "../core/parts";
import { TLS_DIR } from "./files";

export const TLS_VOLUME = "tls";

export function tlsPart(ctx: BuildContext): PodPart {
    const { args, names } = ctx;
    if (!args.tls.enabled) return {};
    return {
        volumes: [
            {
                name: TLS_VOLUME,
                // Owned by root with the server's group (fsGroup) and mode 0440: PostgreSQL accepts a key owned by
                // root that its group may read and nobody may write. The kubelet refreshes the files on renewal.
                source: {
                    secret: { secretName: names.tlsSecret, defaultMode: 0o440, items: Object.values(TLS_KEYS).map((key) => ({ key, path: key })) },
                },
                mountPath: TLS_DIR,
                readOnly: true,
            },
        ],
    };
}
