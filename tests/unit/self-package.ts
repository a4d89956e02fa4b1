/**
 * The program imports the component as the package "replicated-db", which package.json's exports point at
 * lib/, the build. The unit suite runs without a build, so this maps that one name to the sources, as
 * tsconfig.json's "paths" does for the type check. The built package itself is tested in tests/integration.
 */
import Module = require("module");
import * as path from "path";

const SOURCES = path.join(__dirname, "..", "..", "components", "index.ts");

type Resolve = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const resolve = loader._resolveFilename;
// Node's own resolution hook; the public module.register() covers ES modules only, and ts-node loads these as CommonJS.
loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    return request === "replicated-db" ? SOURCES : resolve.call(this, request, ...rest);
};
