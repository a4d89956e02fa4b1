/** Helpers the benchmarks run inside their child processes. */
import * as pulumi from "@pulumi/pulumi";
import { ReplicatedDatabase } from "../components";
import { CapturedResource, RecordedOptions, capturingMocks } from "../render/capture";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

/** Evaluates a program of n components (each in its own namespace) under mocks; returns the resource count. */
export async function renderComponentsForBench(n: number): Promise<number> {
    const resources: CapturedResource[] = [];
    await pulumi.runtime.setMocks(capturingMocks(resources, new Map<string, RecordedOptions>()), "bench", "bench", false);
    await pulumi.runtime.runInPulumiStack(async () => {
        for (let i = 0; i < n; i++) {
            new ReplicatedDatabase(`db${i}`, { namespace: `ns${i}`, replicas: 2 });
        }
        return {};
    });
    await waitForRPCs();
    return resources.length;
}
