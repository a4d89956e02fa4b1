/**
 * cloneFromReplicas: which replica a new replica copies (clone-peer.sh decide_clone_peer), as a table over its
 * inputs, run in one bash with a PATH that finds nothing, so that the rule can read no file and run no command;
 * and the arg, rendered into each failover mode and refused when it is no boolean.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import { parse } from "yaml";
import { resolveArgs } from "../../components/resolve";
import { scriptPath } from "../scriptFolders";
import { find, renderComponent } from "./helpers";

const DECIDE = scriptPath("manual", "decide.sh");
const PEER = scriptPath("manual", "clone-peer.sh");
const BASH = ["/bin/bash", "/usr/bin/bash"].find((b) => fs.existsSync(b))!;
// 16 MiB, the most a copied replica may lag.
const MAX_LAG = 16 * 1024 * 1024;

function lsn(bytes: number): string {
    return `${Math.floor(bytes / 2 ** 32).toString(16).toUpperCase()}/${(bytes % 2 ** 32).toString(16).toUpperCase()}`;
}

function bash(script: string) {
    return spawnSync(BASH, ["--norc", "--noprofile", "-c", `set -euo pipefail; . "${DECIDE}"; . "${PEER}"\n${script}`], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
}

describe("the replica a new replica copies (clone-peer.sh), as a table", () => {
    const P = 5 * 2 ** 32 + 0x40000000; // across the 32-bit boundary of an LSN's halves
    const table: [string, string[], string][] = [
        // from_replicas, primary_lsn, peers..., answer
        ["on", [lsn(P), `1:standby ${lsn(P)}`], "1"],
        ["off", [lsn(P), `1:standby ${lsn(P)}`], "primary"],
        ["", [lsn(P), `1:standby ${lsn(P)}`], "primary"],
        // No peer, or none that is a standby: the primary.
        ["on", [lsn(P)], "primary"],
        ["on", [lsn(P), "1:gone", "2:busy", "3:unknown", "4:primary"], "primary"],
        // Lag: at most 16 MiB behind the primary, counted across the halves of the LSN.
        ["on", [lsn(P), `1:standby ${lsn(P - MAX_LAG)}`], "1"],
        ["on", [lsn(P), `1:standby ${lsn(P - MAX_LAG - 1)}`], "primary"],
        ["on", [lsn(0x100000000), `1:standby ${lsn(0x100000000 - 1)}`], "1"],
        ["on", [lsn(0x100000000), `1:standby ${lsn(0x100000000 - MAX_LAG - 1)}`], "primary"],
        // A standby a little ahead of what the primary said (asked after it) qualifies.
        ["on", [lsn(P), `2:standby ${lsn(P + 100)}`], "2"],
        // The most WAL wins; the lowest ordinal of equals.
        ["on", [lsn(P), `1:standby ${lsn(P - 10)}`, `2:standby ${lsn(P - 5)}`], "2"],
        ["on", [lsn(P), `3:standby ${lsn(P)}`, `1:standby ${lsn(P)}`, `2:standby ${lsn(P)}`], "1"],
        ["on", [lsn(P), `1:standby ${lsn(P - MAX_LAG - 1)}`, `2:standby ${lsn(P - 1)}`], "2"],
        // Malformed observations are not a source.
        ["on", [lsn(P), "1:standby", "2:standby x/y", `x:standby ${lsn(P)}`], "primary"],
        ["on", ["", `1:standby ${lsn(P)}`], "primary"],
        ["on", ["garbage", `1:standby ${lsn(P)}`], "primary"],
    ];
    // The same rows with a data directory set aside on this pod's volume (damage, divergence): always the primary.
    const setAside = table.map(([from, obs]) => [from, obs, "primary"] as [string, string[], string]);

    const call = (from: string, [primary, ...peers]: string[], aside: string) =>
        ["decide_clone_peer", from ? `from_replicas=${from}` : "", aside, `primary_lsn='${primary}'`, ...peers.map((p) => `peer='${p}'`)].join(" ");

    it("copies the caught-up standby holding the most WAL, and the primary when none qualifies or the feature is off", () => {
        const r = bash(table.map(([from, obs]) => call(from, obs, "set_aside=no")).join("\n"));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.stdout.trim().split("\n"), table.map((row) => row[2]));
    });

    it("copies the primary when this pod's volume holds a data directory set aside, or says nothing about it", () => {
        for (const aside of ["set_aside=yes", ""]) {
            const r = bash(setAside.map(([from, obs]) => call(from, obs, aside)).join("\n"));
            assert.strictEqual(r.status, 0, r.stderr);
            assert.deepStrictEqual(r.stdout.trim().split("\n"), setAside.map((row) => row[2]), aside);
        }
    });

    it("runs nothing when sourced", () => {
        const r = bash("echo sourced");
        assert.deepStrictEqual([r.status, r.stdout, r.stderr], [0, "sourced\n", ""]);
    });
});

describe("whether the primary is asked for a checkpoint before a replica's copy (decide_clone_checkpoint), as a table", () => {
    // 64 MiB: the most WAL since the replica's last restartpoint that its copy replays without a checkpoint.
    const MOST = 64 * 1024 * 1024;
    const P = 7 * 2 ** 32 + 0x2000000; // the restartpoint below it lies in the previous 4 GiB
    const table: [string, string, string][] = [
        // primary_lsn, restartpoint, answer
        [lsn(P), lsn(P), "none"],
        [lsn(P), lsn(P - MOST), "none"],
        [lsn(P), lsn(P - MOST - 1), "checkpoint"],
        [lsn(P), lsn(P - 5 * MOST), "checkpoint"],
        // A restartpoint past what the primary said (the primary was asked first): nothing to replay.
        [lsn(P), lsn(P + 8192), "none"],
        // Not known (the replica could not be asked) or malformed: the checkpoint, whose copy replays least.
        [lsn(P), "", "checkpoint"],
        [lsn(P), "unknown", "checkpoint"],
        [lsn(P), "1/", "checkpoint"],
        ["", lsn(P), "checkpoint"],
        ["x/y", lsn(P), "checkpoint"],
    ];

    it("asks for one only when the copy would replay more than 64 MiB, or when that is not known", () => {
        const r = bash(table.map(([p, rp]) => `decide_clone_checkpoint primary_lsn='${p}' restartpoint='${rp}'`).join("\n"));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.stdout.trim().split("\n"), table.map((row) => row[2]));
    });
});

describe("cloneFromReplicas, rendered", () => {
    const IMAGE = "registry.example.com/postgres-patroni:17.6";

    it("is on by default: the manual pods' env, and every Patroni member tagged clonefrom", async () => {
        const env = async (args: object) => find(await renderComponent("db", { image: IMAGE, ...args }), "StatefulSet").spec.template.spec.containers[0].env;
        assert.deepStrictEqual((await env({})).filter((e: any) => e.name === "RDB_CLONE_FROM_REPLICAS"), [{ name: "RDB_CLONE_FROM_REPLICAS", value: "on" }]);
        assert.deepStrictEqual((await env({ cloneFromReplicas: false })).filter((e: any) => e.name === "RDB_CLONE_FROM_REPLICAS"), [{ name: "RDB_CLONE_FROM_REPLICAS", value: "off" }]);

        const tags = async (args: object) => parse(find(await renderComponent("db", { failover: "patroni", image: IMAGE, ...args }), "ConfigMap", "db-settings").data["patroni.yml"]).tags;
        assert.strictEqual((await tags({})).clonefrom, true);
        assert.strictEqual((await tags({ cloneFromReplicas: false })).clonefrom, false);
    });

    it("refuses a value that is not a boolean, naming the setting", () => {
        assert.throws(() => resolveArgs("db", { image: IMAGE, cloneFromReplicas: "yes" as unknown as boolean }), /^ArgError: invalid cloneFromReplicas: "yes" \(allowed: true or false\)$/);
    });
});
