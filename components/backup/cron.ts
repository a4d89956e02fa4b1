/**
 * Cron expressions as a Kubernetes CronJob takes them: five fields (minute, hour, day of month, month, day of
 * week) or a macro. Checked here so that a typo fails at preview, not as a CronJob the API server refuses
 * half-way through an update. Pure.
 */
import { ArgError } from "../validation";

const MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface Field {
    name: string;
    min: number;
    max: number;
    /** Three-letter names, the first standing for `min`. */
    names?: string[];
}

const FIELDS: Field[] = [
    { name: "minute", min: 0, max: 59 },
    { name: "hour", min: 0, max: 23 },
    { name: "day of month", min: 1, max: 31 },
    { name: "month", min: 1, max: 12, names: MONTHS },
    // 7 is Sunday too, as in most crons.
    { name: "day of week", min: 0, max: 7, names: DAYS },
];

/** Why `text` is not a valid field, or undefined when it is. */
function fieldProblem(text: string, f: Field): string | undefined {
    const value = (v: string): number | undefined => {
        const byName = f.names?.indexOf(v.toUpperCase()) ?? -1;
        if (byName >= 0) return f.min + byName;
        return /^[0-9]{1,2}$/.test(v) ? Number(v) : undefined;
    };
    for (const part of text.split(",")) {
        const [range, step, extra] = part.split("/");
        if (extra !== undefined || (step !== undefined && !/^[1-9][0-9]?$/.test(step))) {
            return `${f.name} "${text}": a step is "/" and a number from 1`;
        }
        if (range === "*" || range === "?") continue;
        const [lo, hi, more] = range.split("-");
        const a = value(lo);
        const b = hi === undefined ? a : value(hi);
        if (more !== undefined || a === undefined || b === undefined) {
            return `${f.name} "${text}": numbers${f.names ? " or names" : ""}, ranges "a-b", lists "a,b", steps "*/n"`;
        }
        if (a < f.min || b > f.max || a > b) {
            return `${f.name} "${text}": from ${f.min} to ${f.max}`;
        }
    }
    return undefined;
}

/** The values a valid field stands for (fieldProblem passed), as numbers; day of week 7 is Sunday, 0. */
function fieldValues(text: string, f: Field): Set<number> {
    const value = (v: string): number => {
        const byName = f.names?.indexOf(v.toUpperCase()) ?? -1;
        return byName >= 0 ? f.min + byName : Number(v);
    };
    const out = new Set<number>();
    for (const part of text.split(",")) {
        const [range, step] = part.split("/");
        const [lo, hi] = range === "*" || range === "?" ? [f.min, f.max] : range.split("-").map(value);
        const top = step === undefined && range !== "*" && range !== "?" ? (hi ?? lo) : step === undefined ? f.max : (hi ?? f.max);
        for (let v = lo; v <= top; v += step === undefined ? 1 : Number(step)) out.add(v);
    }
    return out;
}

/** Days in each month, February in a leap year: a schedule on 29 February fires, once in four years. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether a valid five-field schedule ever fires. As Kubernetes' cron library reads it, a day matches when
 * both the day of month and the day of week match, unless both are restricted (neither "*" nor "?"): then
 * either one is enough, and any month has every weekday.
 */
function everFires(parts: string[]): boolean {
    // A field is "*" for this rule only when a part of it is "*" or "?" with no step other than 1.
    const star = (t: string) => t.split(",").some((p) => /^[*?](\/1)?$/.test(p));
    if (!star(parts[2]) && !star(parts[4])) return true;
    const days = fieldValues(parts[2], FIELDS[2]);
    const months = fieldValues(parts[3], FIELDS[3]);
    return [...months].some((m) => [...days].some((d) => d <= MONTH_DAYS[m - 1]));
}

/** A schedule a CronJob accepts: five fields or one of the macros. */
export function checkCron(setting: string, value: unknown): string {
    const allowed = `a cron schedule: five fields "minute hour day-of-month month day-of-week" such as "0 1 * * 0", or one of ${MACROS.join(", ")}`;
    if (typeof value !== "string") {
        throw new ArgError(setting, value, allowed);
    }
    if (MACROS.includes(value.trim())) {
        return value.trim();
    }
    const parts = value.trim().split(/\s+/);
    if (parts.length !== FIELDS.length) {
        throw new ArgError(setting, value, allowed);
    }
    for (let i = 0; i < FIELDS.length; i++) {
        const problem = fieldProblem(parts[i], FIELDS[i]);
        if (problem) {
            throw new ArgError(setting, value, `${allowed}; the ${problem}`);
        }
    }
    if (!everFires(parts)) {
        throw new ArgError(setting, value, `${allowed}, on a day that exists: no month in "${parts[3]}" has a day "${parts[2]}", so it would never run`);
    }
    return parts.join(" ");
}
