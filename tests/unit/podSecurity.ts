/**
 * The Pod Security Standards' "baseline" and "restricted" levels (kubernetes.io/docs/concepts/security/
 * pod-security-standards), the controls that a pod template of ours can touch, as the admission controller
 * checks a pod: its own spec only (a PersistentVolumeClaim is allowed whatever volume it binds). Returns what
 * breaks the level, one line each; empty when the pod is admitted.
 */
type Spec = any;

/** Baseline: capabilities beyond the default set may not be added. */
const BASELINE_CAPABILITIES = [
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID",
    "SETPCAP", "SETUID", "SYS_CHROOT",
];
/** Restricted: only these volume types. */
const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

function containersOf(spec: Spec): any[] {
    return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

export function baselineViolations(spec: Spec): string[] {
    const out: string[] = [];
    for (const k of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[k]) out.push(`${k}`);
    for (const v of spec.volumes ?? []) if (v.hostPath) out.push(`volume ${v.name}: hostPath`);
    if (spec.securityContext?.seccompProfile?.type === "Unconfined") out.push("pod: seccomp Unconfined");
    for (const c of containersOf(spec)) {
        const sc = c.securityContext ?? {};
        if (sc.privileged) out.push(`container ${c.name}: privileged`);
        const extra = (sc.capabilities?.add ?? []).filter((cap: string) => !BASELINE_CAPABILITIES.includes(cap));
        if (extra.length) out.push(`container ${c.name}: adds ${extra.join(", ")}`);
        if ((c.ports ?? []).some((p: any) => p.hostPort)) out.push(`container ${c.name}: hostPort`);
        if (sc.seccompProfile?.type === "Unconfined") out.push(`container ${c.name}: seccomp Unconfined`);
        if (sc.procMount && sc.procMount !== "Default") out.push(`container ${c.name}: procMount`);
    }
    return out;
}

export function restrictedViolations(spec: Spec): string[] {
    const out = baselineViolations(spec);
    const pod = spec.securityContext ?? {};
    for (const v of spec.volumes ?? []) {
        const type = Object.keys(v).find((k) => k !== "name");
        if (!RESTRICTED_VOLUMES.includes(type!)) out.push(`volume ${v.name}: type ${type}`);
    }
    if (pod.runAsUser === 0) out.push("pod: runAsUser 0");
    for (const c of containersOf(spec)) {
        const sc = c.securityContext ?? {};
        if (sc.allowPrivilegeEscalation !== false) out.push(`container ${c.name}: allowPrivilegeEscalation not false`);
        const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
        if (nonRoot !== true) out.push(`container ${c.name}: runAsNonRoot not true`);
        if (sc.runAsUser === 0) out.push(`container ${c.name}: runAsUser 0`);
        const seccomp = (sc.seccompProfile ?? pod.seccompProfile)?.type;
        if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") out.push(`container ${c.name}: seccomp not RuntimeDefault or Localhost`);
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) out.push(`container ${c.name}: does not drop ALL`);
        const extra = (sc.capabilities?.add ?? []).filter((cap: string) => cap !== "NET_BIND_SERVICE");
        if (extra.length) out.push(`container ${c.name}: adds ${extra.join(", ")} (only NET_BIND_SERVICE)`);
    }
    return out;
}
