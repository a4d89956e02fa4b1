/**
 * Pulumi records a stack trace on every promise it makes (`new Error().stack` in runtime/debuggable.js),
 * for a leak report that shows them only when PULUMI_DEBUG_PROMISE_LEAKS is set. Under ts-node each of
 * those traces goes through source-map-support, which maps every frame back to TypeScript: about half the
 * CPU of a render. Unless that variable is set, those traces alone are left unformatted (the error line,
 * no frames); every other trace, test failures' among them, stays source-mapped as before.
 */
const sourceMapped = Error.prepareStackTrace;
const DEBUGGABLE = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/;

if (sourceMapped && !process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
    Error.prepareStackTrace = (error: Error, sites: NodeJS.CallSite[]): unknown => {
        const file = sites[0]?.getFileName();
        return file && DEBUGGABLE.test(file) ? `${error}` : sourceMapped(error, sites);
    };
}
