/** What the pooler adds to the database pods: their NetworkPolicy admits the pooler's pods on the database port. */
import { BuildContext } from "../core/context";
import { PodPart } from "../core/parts";
import { tcp } from "../network/rules";
import { poolerPodLabels } from "./labels";
import { pooledServices } from "./services";

export function poolerPart(ctx: BuildContext): PodPart {
    const { args, engine } = ctx;
    if (pooledServices(args).length === 0) return {};
    // Whoever the allowed clients are: the pooler connects on their behalf.
    return { ingress: [{ from: [{ podSelector: { matchLabels: poolerPodLabels(args.clusterName) } }], ports: [tcp(engine.port)] }] };
}
