/**
 * Pulumi's SDK records a stack trace on every promise it makes (`new Error().stack` in runtime/debuggable.js):
 * four per property of every resource it registers, about 1,100 for one ReplicatedDatabase's 30 resources. It
 * shows them only in its leak report, and only when PULUMI_DEBUG_PROMISE_LEAKS is set. Under source-map-support
 * (which `pulumi up` installs, and ts-node for a TypeScript program) every one of those traces is mapped back to
 * the sources frame by frame: about 0.1 ms each, half the CPU of a program under mocks (bench/program.ts).
 *
 * While the component registers its children, those traces alone are left unformatted (the error line, no
 * frames), unless that variable is set. Every other trace stays as it was: errors' stacks, and the call sites
 * that Pulumi reads for each resource's source position (Resource.callsites, not from debuggable.js). The
 * formatter is put back when the constructor returns or throws; with none installed (plain Node) nothing changes.
 */
const DEBUGGABLE = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/;

type Format = (error: Error, sites: NodeJS.CallSite[]) => unknown;

/** Runs `fn` with Pulumi's per-promise debugging traces unformatted (see above); returns what it returns. */
export function withoutPromiseStacks<T>(fn: () => T): T {
    const formatter = Error.prepareStackTrace as Format | undefined;
    if (!formatter || process.env.PULUMI_DEBUG_PROMISE_LEAKS || (formatter as { skipsPromiseStacks?: boolean }).skipsPromiseStacks) {
        return fn();
    }
    const skipping: Format & { skipsPromiseStacks?: boolean } = (error, sites) => {
        const file = sites[0]?.getFileName();
        return file && DEBUGGABLE.test(file) ? `${error}` : formatter(error, sites);
    };
    skipping.skipsPromiseStacks = true;
    Error.prepareStackTrace = skipping as typeof Error.prepareStackTrace;
    try {
        return fn();
    } finally {
        // Unless something else replaced it meanwhile: then that one stays.
        if (Error.prepareStackTrace === (skipping as unknown)) {
            Error.prepareStackTrace = formatter as typeof Error.prepareStackTrace;
        }
    }
}
