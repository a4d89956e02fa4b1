/**
 * Parsers for the connection strings' documented forms, to check what a driver would read back from them.
 * - libpq URI (PostgreSQL docs, "Connection URIs"): postgresql://[user[:password]@][host[:port]][,...][/dbname][?name=value[&...]],
 *   percent-decoded in every part. As libpq does, the user part ends at the first '@' before any '/'.
 * - pgjdbc URL (pgjdbc docs, "Connecting to the Database"): jdbc:postgresql://host1:port1,host2:port2/database?properties;
 *   the driver cuts at the first '?' and decodes each property value with URLDecoder, which reads '+' as a space.
 */
export interface ParsedUri {
    user?: string;
    password?: string;
    hosts: { host: string; port: number }[];
    database: string;
    params: Record<string, string>;
}

function hostList(text: string, decode: (s: string) => string): { host: string; port: number }[] {
    return text.split(",").map((hp) => {
        const m = /^([^:]+):([0-9]+)$/.exec(hp);
        if (!m) throw new Error(`not host:port: ${JSON.stringify(hp)}`);
        return { host: decode(m[1]), port: Number(m[2]) };
    });
}

function query(text: string | undefined, decode: (s: string) => string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const pair of text ? text.split("&") : []) {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new Error(`not name=value: ${JSON.stringify(pair)}`);
        const name = decode(pair.slice(0, eq));
        if (name in out) throw new Error(`${name} given twice`);
        out[name] = decode(pair.slice(eq + 1));
    }
    return out;
}

export function parseLibpqUri(uri: string): ParsedUri {
    const m = /^postgres(?:ql)?:\/\/(.*)$/.exec(uri);
    if (!m) throw new Error(`not a libpq URI: ${uri}`);
    let rest = m[1];
    let user: string | undefined;
    let password: string | undefined;
    const at = rest.search(/[@/]/);
    if (at >= 0 && rest[at] === "@") {
        const userinfo = rest.slice(0, at);
        const colon = userinfo.indexOf(":");
        user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
        password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
        rest = rest.slice(at + 1);
    }
    const hm = /^([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/.exec(rest)!;
    return { user, password, hosts: hostList(hm[1], decodeURIComponent), database: decodeURIComponent(hm[2] ?? ""), params: query(hm[3], decodeURIComponent) };
}

/** Java's URLDecoder: '+' is a space, then percent-decoding. */
const urlDecoder = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));

export function parseJdbcUrl(url: string): ParsedUri {
    const m = /^jdbc:postgresql:\/\/([^?]*)(?:\?(.*))?$/.exec(url);
    if (!m) throw new Error(`not a pgjdbc URL: ${url}`);
    const slash = m[1].indexOf("/");
    if (slash < 0) throw new Error(`no database in ${url}`);
    const params = query(m[2], urlDecoder);
    const { user, password, ...rest } = params;
    return { user, password, hosts: hostList(m[1].slice(0, slash), (s) => s), database: urlDecoder(m[1].slice(slash + 1)), params: rest };
}
