/** The stop's deadlines both modes take from lib.sh (set_stop_deadlines), run with bash as the pods run it. */
import * as assert from "assert";
import { spawnSync } from "child_process";
import { scriptPath } from "../scriptFolders";
import { TERMINATION_GRACE_SECONDS } from "../../components/limits";

const LIB = scriptPath("common", "lib.sh");

function deadlines(grace: string | undefined): { status: number | null; stdout: string; stderr: string } {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, POD_NAME: "db-0" };
    if (grace !== undefined) env.RDB_TERMINATION_GRACE_SECONDS = grace;
    const r = spawnSync("bash", ["--norc", "--noprofile", "-c", `set -euo pipefail; . "${LIB}"; set_stop_deadlines; echo "$STOP_IMMEDIATE_AFTER $STOP_KILL_AFTER"`], { env, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

describe("the stop's deadlines (lib.sh set_stop_deadlines)", () => {
    it("gives a clean stop two thirds of the rendered grace period and kills at five sixths", () => {
        const g = TERMINATION_GRACE_SECONDS;
        assert.deepStrictEqual(deadlines(String(g)), { status: 0, stdout: `${Math.floor((g * 2) / 3)} ${Math.floor((g * 5) / 6)}`, stderr: "" });
        assert.strictEqual(deadlines(undefined).stdout, "40 50");
        assert.strictEqual(deadlines("12").stdout, "8 10");
    });

    it("stops the container at start on a bad value, naming it and what is allowed", () => {
        for (const bad of ["abc", "11", "-5", "10000", "60s"]) {
            const r = deadlines(bad);
            assert.notStrictEqual(r.status, 0, `accepted '${bad}'`);
            assert.strictEqual(r.stdout, "");
            assert.match(r.stderr, new RegExp(`FATAL: invalid RDB_TERMINATION_GRACE_SECONDS: '${bad}' \\(allowed: whole seconds from 12 to 9999\\)`));
        }
    });
});
