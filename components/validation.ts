/**
 * Pure validation helpers. Each throws an {@link ArgError} that names the setting, the value it got and
 * what is allowed, so that a wrong stack config fails before any resource is created.
 */

/** An invalid component argument or stack setting. */
export class ArgError extends Error {
    constructor(
        /** The setting as the user wrote it (an arg name or a stack config key). */
        public readonly setting: string,
        /** The offending value. */
        public readonly value: unknown,
        /** What is allowed, in words. */
        public readonly allowed: string,
    ) {
        // One line, whatever the setting's name holds: the Pulumi CLI prints only an error's first line.
        super(`invalid ${oneLine(setting)}: ${describe(value)} (allowed: ${oneLine(allowed)})`);
        this.name = "ArgError";
    }
}

/** A name or text as written, unless it holds a line break or control character: then JSON-quoted. */
function oneLine(text: string): string {
    return /[\u0000-\u001f\u007f]/.test(text) ? JSON.stringify(text) : text;
}

/** Renders a value for an error message; strings are quoted so that an empty or blank value shows. */
export function describe(value: unknown): string {
    if (typeof value === "string") {
        return JSON.stringify(value);
    }
    if (value === undefined) {
        return "undefined";
    }
    return JSON.stringify(value) ?? String(value);
}

/** Maps an arg name to the name the user wrote (the program maps them to stack config keys). */
export type SettingNamer = (arg: string) => string;
export const argName: SettingNamer = (arg) => arg;

/**
 * A group of settings (a map such as `tls` or `backup`): refuses anything but a map, and any key that is not one
 * of `known`, naming it. `what` names the group in words ("TLS settings"); `setting` is the group's name.
 */
export function checkSettingsMap<T extends object>(setting: string, given: T, known: string[], what: string): T {
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
        throw new ArgError(setting, given, `a map of ${what} (see docs/configuration.md)`);
    }
    for (const [key, value] of Object.entries(given)) {
        if (!known.includes(key)) {
            throw new ArgError(`${setting}.${key}`, value, `one of the ${what}: ${known.join(", ")}`);
        }
        checkNotNull(`${setting}.${key}`, value);
    }
    return given;
}

/**
 * Refuses null. A stack config's `backup: null` would otherwise read as "unset", and so as the default (backups
 * off) — the opposite of what someone who wrote the key may have meant.
 */
export function checkNotNull(setting: string, value: unknown): void {
    if (value === null) {
        throw new ArgError(setting, value, "a value; leave the setting out to take its default");
    }
}

/** A whole number within [min, max]. */
export function checkInteger(setting: string, value: unknown, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw new ArgError(setting, value, `a whole number from ${min} to ${max}`);
    }
    return value;
}

export function checkBoolean(setting: string, value: unknown): boolean {
    if (typeof value !== "boolean") {
        throw new ArgError(setting, value, "true or false");
    }
    return value;
}

/** A non-empty string without white space or control characters. */
export function checkToken(setting: string, value: unknown, what: string): string {
    if (typeof value !== "string" || value.length === 0 || /[\s\u0000-\u001f]/.test(value)) {
        throw new ArgError(setting, value, what);
    }
    return value;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** An RFC 1123 label (lower case alphanumerics and '-', starting and ending alphanumeric). */
export function checkDnsLabel(setting: string, value: unknown, maxLength = 63): string {
    if (typeof value !== "string" || value.length > maxLength || !DNS_LABEL.test(value)) {
        throw new ArgError(
            setting,
            value,
            `a DNS-1123 label of at most ${maxLength} characters: lower case letters, digits and '-', ` +
                "starting and ending with a letter or digit",
        );
    }
    return value;
}

/** An RFC 1123 subdomain (dot-separated labels), as Kubernetes wants for object and domain names. */
export function checkDnsSubdomain(setting: string, value: unknown, maxLength = 253): string {
    if (typeof value !== "string" || value.length > maxLength || !DNS_SUBDOMAIN.test(value)) {
        throw new ArgError(setting, value, `a DNS-1123 subdomain of at most ${maxLength} characters`);
    }
    return value;
}

/** A PostgreSQL-style identifier we are willing to put into SQL and connection strings unquoted. */
export function checkIdentifier(setting: string, value: unknown): string {
    if (typeof value !== "string" || !/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
        throw new ArgError(
            setting,
            value,
            "a lower-case identifier of 1 to 63 characters: letters, digits and '_', not starting with a digit",
        );
    }
    return value;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/;

/**
 * Parses a Kubernetes quantity ("10Gi", "500M", "250m", "1.5") into its numeric value
 * (bytes for storage and memory, cores for CPU). Returns undefined when it is not a quantity we accept.
 * Exponent forms ("1e3") are not accepted: nobody writes storage that way and they are easy to typo.
 */
export function parseQuantity(text: string): number | undefined {
    const m = QUANTITY.exec(text);
    if (!m) {
        return undefined;
    }
    const n = Number(m[1]);
    const suffix = m[2] ?? "";
    if (suffix === "m") {
        return n / 1000;
    }
    return n * (BINARY[suffix] ?? DECIMAL[suffix]);
}

/** A Kubernetes quantity that is at least `min` (given as a quantity too); `example` is one in the right unit. */
export function checkQuantity(setting: string, value: unknown, min: string, what: string, example = "10Gi"): string {
    const parsed = typeof value === "string" ? parseQuantity(value) : undefined;
    const floor = parseQuantity(min)!;
    if (parsed === undefined || parsed < floor) {
        throw new ArgError(setting, value, `${what}: a Kubernetes quantity such as "${example}", at least ${min}`);
    }
    return value as string;
}

/**
 * An image pinned to a version tag or a digest: no bare name and no "latest", which change what runs under a
 * running cluster at the next pod start.
 */
export function checkPinnedImage(setting: string, value: unknown, example: string): string {
    const image = checkToken(setting, value, `an image reference with a version tag or a digest, such as "${example}"`);
    const last = image.slice(image.lastIndexOf("/") + 1);
    if (!/[:@]/.test(last) || /:latest$/.test(image)) {
        throw new ArgError(setting, image, `an image with a version tag or a digest, such as "${example}" (no "latest", no bare name: a floating tag changes what runs under you)`);
    }
    return image;
}

/** Role names PostgreSQL or the component keeps for themselves. */
const RESERVED_ROLES = ["postgres", "public", "none", "current_user", "session_user", "current_role"];

/**
 * A database role of the component's own: an identifier, not a reserved name (the superuser "postgres", "pg_"
 * names, which PostgreSQL keeps for its predefined roles) and none of the `taken` roles (each identity gets its
 * own credential: a shared name would hand one role's password to another).
 */
export function checkRoleName(setting: string, value: unknown, taken: { role: string; setting: string }[]): string {
    const role = checkIdentifier(setting, value);
    if (RESERVED_ROLES.includes(role) || role.startsWith("pg_")) {
        throw new ArgError(setting, role, `a role of its own: not ${RESERVED_ROLES.map((r) => `"${r}"`).join(", ")} nor a "pg_" name (PostgreSQL's own roles)`);
    }
    const clash = taken.find((t) => t.role === role);
    if (clash) {
        throw new ArgError(setting, role, `a role other than ${clash.setting} ("${clash.role}"): each identity has its own password`);
    }
    return role;
}

/** Databases the server keeps for itself. */
const RESERVED_DATABASES = ["postgres", "template0", "template1"];

/** The application's database: an identifier other than the server's own databases. */
export function checkDatabaseName(setting: string, value: unknown): string {
    const name = checkIdentifier(setting, value);
    if (RESERVED_DATABASES.includes(name)) {
        throw new ArgError(setting, name, `a database of its own, not ${RESERVED_DATABASES.map((d) => `"${d}"`).join(", ")} (the server's own)`);
    }
    return name;
}

/** Checks that an optional value is absent or passes `check`; returns the checked value or the default. */
export function withDefault<T>(value: T | undefined, fallback: T, check: (v: T) => T): T {
    return value === undefined ? fallback : check(value);
}
