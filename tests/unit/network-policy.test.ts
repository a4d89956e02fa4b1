/**
 * The rendered NetworkPolicies, evaluated by Kubernetes' NetworkPolicy semantics (./netpol-eval.ts) over the
 * cluster's pods as the StatefulSet and CronJobs label them: every path that replication, failover, DNS, the
 * Kubernetes API and backups need is open, strangers are kept out, and `allowedClients` names who else gets
 * in. Then the evaluator itself on hand-written policies, and the validation of every field.
 */
import * as assert from "assert";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { checkCidr, checkLabelKey, checkLabelValue } from "../../components/network/resolve";
import { resolveArgs } from "../../components/resolve";
import { ArgError } from "../../components/validation";
import { configKey, resolveConfig } from "../../program/config";
import { Manifest } from "../../render/manifests";
import { Rendered } from "../../render/render";
import { find, ofKind, renderComponent, resource } from "./helpers";
import { Cluster, Endpoint, External, Pod, allowed } from "./netpol-eval";

const IMAGE = "registry.example.com/replicated-db-postgres:17.6";
const PATRONI = { failover: "patroni", image: IMAGE };
const S3 = { enabled: true, s3Bucket: "bkp", s3Endpoint: "s3.example.com", s3CredentialsSecret: "creds" };
const ROLE = "replicated-db.io/role";

const API_SERVER: External = { kind: "external", name: "api-server", ip: "172.18.0.2" };
const MANAGED_API_SERVER: External = { kind: "external", name: "managed-api-server", ip: "34.118.0.10" };
const S3_SERVER: External = { kind: "external", name: "s3", ip: "52.1.2.3" };
const ELSEWHERE: External = { kind: "external", name: "elsewhere", ip: "8.8.8.8" };

let nextIp = 10;
function pod(name: string, namespace: string, labels: Record<string, string>): Pod {
    return { kind: "pod", name, namespace, labels, ip: `10.244.0.${nextIp++}` };
}

const DNS = pod("coredns", "kube-system", { "k8s-app": "kube-dns" });
const NOT_DNS = pod("metrics", "kube-system", { "k8s-app": "metrics-server" });

interface World {
    cluster: Cluster;
    /** The database pods, ordinal 0 (the primary) first. */
    db: Pod[];
    primary: Pod;
    replica: Pod;
    /** A backup Job's pod, when backups are scheduled. */
    backupJob: Pod | undefined;
    policies: Manifest[];
}

/** The pods of a render in namespace `ns`, labelled as the StatefulSet's and the CronJob's templates say. */
async function world(args: ReplicatedDatabaseArgs, namespaces: Record<string, Record<string, string>> = {}): Promise<World> {
    const r: Rendered = await renderComponent("db", args);
    const ns = args.namespace ?? "default";
    const sts = find(r, "StatefulSet");
    const template = sts.spec.template.metadata.labels;
    const db = Array.from({ length: sts.spec.replicas }, (_, i) =>
        pod(`db-${i}`, ns, { ...template, [ROLE]: i === 0 ? "primary" : "replica", "statefulset.kubernetes.io/pod-name": `db-${i}` }),
    );
    const cron = ofKind(r, "CronJob")[0];
    const backupJob = cron ? pod("db-backup-full-123", ns, { ...cron.spec.jobTemplate.spec.template.metadata.labels }) : undefined;
    const policies = ofKind(r, "NetworkPolicy");
    return {
        cluster: { namespaces: { default: {}, "kube-system": {}, elsewhere: {}, [ns]: {}, ...namespaces }, policies },
        db,
        primary: db[0],
        replica: db[1],
        backupJob,
        policies,
    };
}

function open(w: World, from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): void {
    assert.ok(allowed(w.cluster, from, to, port, protocol), `${from.name} -> ${to.name}:${port}/${protocol} should be allowed`);
}

function closed(w: World, from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): void {
    assert.ok(!allowed(w.cluster, from, to, port, protocol), `${from.name} -> ${to.name}:${port}/${protocol} should be denied`);
}

/** Replication both ways (a rewound old primary reads from the new one), DNS, the API server. */
function assertClusterPaths(w: World): void {
    for (const a of w.db) {
        for (const b of w.db) {
            if (a !== b) open(w, a, b, 5432);
        }
        open(w, a, DNS, 53, "UDP");
        open(w, a, DNS, 53, "TCP");
        closed(w, a, NOT_DNS, 53, "UDP");
        open(w, a, API_SERVER, 6443);
        open(w, a, MANAGED_API_SERVER, 443);
        closed(w, a, ELSEWHERE, 80);
    }
}

describe("network policy", () => {
    it("renders <cluster>, selecting the database pods, as a child of the component", async () => {
        const r = await renderComponent("db", { namespace: "shop" });
        const np = find(r, "NetworkPolicy");
        assert.strictEqual(np.metadata.name, "db");
        assert.strictEqual(np.metadata.namespace, "shop");
        assert.strictEqual(np.metadata.labels["app.kubernetes.io/component"], "network");
        assert.deepStrictEqual(np.spec.policyTypes, ["Ingress", "Egress"]);
        assert.deepStrictEqual(np.spec.podSelector.matchLabels, {
            "app.kubernetes.io/name": "postgresql",
            "app.kubernetes.io/instance": "db",
            "app.kubernetes.io/component": "database",
        });
        const res = resource(r, "db-networkpolicy");
        assert.strictEqual(res.options.parent, "db");
        assert.ok(resource(r, "db-statefulset").options.dependsOn.includes("db-networkpolicy"), "the pods start inside the policy");
    });

    it("manual failover, the defaults: replication, DNS and the labeler's API calls pass; the namespace's pods are clients; other namespaces are not", async () => {
        const w = await world({ replicas: 2 });
        assertClusterPaths(w);
        const neighbour = pod("web", "default", { app: "web" });
        const stranger = pod("intruder", "elsewhere", { app: "web" });
        open(w, neighbour, w.primary, 5432);
        open(w, neighbour, w.replica, 5432);
        closed(w, stranger, w.primary, 5432);
        closed(w, stranger, w.replica, 5432);
        // No Patroni: nothing but the database port between the pods, and to them.
        closed(w, w.replica, w.primary, 8008);
        closed(w, neighbour, w.primary, 22);
        // The database pods connect to no client.
        closed(w, w.primary, neighbour, 5432);
        closed(w, w.primary, stranger, 5432);
    });

    it("patroni: the REST API between the cluster's own pods only; Patroni reaches the API server", async () => {
        const w = await world({ replicas: 2, ...PATRONI });
        assertClusterPaths(w);
        for (const a of w.db) {
            for (const b of w.db) {
                if (a !== b) open(w, a, b, 8008);
            }
        }
        const neighbour = pod("web", "default", { app: "web" });
        open(w, neighbour, w.primary, 5432);
        closed(w, neighbour, w.primary, 8008);
        closed(w, pod("intruder", "elsewhere", {}), w.replica, 8008);
        // A look-alike in another namespace is no member.
        closed(w, pod("fake", "elsewhere", { ...w.primary.labels }), w.primary, 8008);
        // The port list comes from the topology.
        const np = w.policies.find((p) => p.metadata.name === "db")!;
        assert.deepStrictEqual(np.spec.ingress[0].ports.map((p: any) => p.port), [5432, 8008]);
    });

    it("allowedClients: named pods in this namespace, whole namespaces, and both at once (AND)", async () => {
        const w = await world(
            {
                replicas: 1,
                networkPolicy: {
                    allowedClients: [
                        { podLabels: { app: "shop" } },
                        { namespaceLabels: { team: "reporting" } },
                        { podLabels: { app: "bi" }, namespaceLabels: { team: "analytics" } },
                    ],
                },
            },
            { reports: { team: "reporting" }, analytics: { team: "analytics" } },
        );
        assertClusterPaths(w);
        open(w, pod("shop", "default", { app: "shop", tier: "web" }), w.primary, 5432);
        closed(w, pod("web", "default", { app: "web" }), w.primary, 5432);
        // podLabels without namespaceLabels: this namespace only.
        closed(w, pod("shop-elsewhere", "elsewhere", { app: "shop" }), w.primary, 5432);
        open(w, pod("anything", "reports", { app: "whatever" }), w.replica, 5432);
        open(w, pod("bi", "analytics", { app: "bi" }), w.primary, 5432);
        closed(w, pod("etl", "analytics", { app: "etl" }), w.primary, 5432);
        closed(w, pod("bi-here", "default", { app: "bi" }), w.primary, 5432);
        // Clients get the database port, nothing else.
        closed(w, pod("shop", "default", { app: "shop" }), w.primary, 8008);
    });

    it("allowedClients []: the cluster's own pods only (and no rule with an empty `from`, which would admit everyone)", async () => {
        const w = await world({ replicas: 1, networkPolicy: { allowedClients: [] } });
        assertClusterPaths(w);
        closed(w, pod("web", "default", { app: "web" }), w.primary, 5432);
        const np = w.policies.find((p) => p.metadata.name === "db")!;
        // The cluster's own pods, and the metrics scrapers (on the metrics port only: tests/unit/monitoring.test.ts).
        assert.strictEqual(np.spec.ingress.length, 2);
        assert.deepStrictEqual(np.spec.ingress[1].ports, [{ protocol: "TCP", port: 9187 }]);
        for (const rule of [...np.spec.ingress, ...np.spec.egress]) {
            assert.ok((rule.from ?? rule.to).length > 0, JSON.stringify(rule));
        }
    });

    it("backups to S3: the primary reaches the endpoint's port on the allowed CIDRs; the backup Job only the database port and DNS", async () => {
        const w = await world({
            replicas: 1,
            image: IMAGE,
            backup: { ...S3, s3Endpoint: "minio.example.com:9000" },
            networkPolicy: { apiServerCidrs: ["172.18.0.0/16"], backupRepositoryCidrs: ["52.1.0.0/16"] },
        });
        open(w, w.primary, S3_SERVER, 9000);
        open(w, w.replica, S3_SERVER, 9000);
        closed(w, w.primary, S3_SERVER, 443);
        closed(w, w.primary, ELSEWHERE, 9000);
        open(w, w.primary, API_SERVER, 6443);
        closed(w, w.primary, MANAGED_API_SERVER, 443);
        const job = w.backupJob!;
        assert.ok(job, "a backup CronJob");
        // It asks the primary for a backup as the backup role, by the pods' names: the database port and DNS only.
        open(w, job, w.primary, 5432);
        open(w, job, w.replica, 5432);
        open(w, job, DNS, 53, "UDP");
        closed(w, job, API_SERVER, 6443);
        closed(w, job, API_SERVER, 443);
        closed(w, job, S3_SERVER, 9000);
        closed(w, pod("web", "default", { app: "web" }), job, 8080);
        // The Job's pods carry the cluster's selector but are not database pods: not members, not clients by that.
        closed(w, job, w.primary, 8008);
        const np = w.policies.find((p) => p.metadata.name === "db-backup")!;
        assert.deepStrictEqual(np.spec.podSelector.matchExpressions, [{ key: "app.kubernetes.io/component", operator: "In", values: ["backup-full", "backup-diff"] }]);
    });

    it("S3 on the default port 443, and a restore alone, open the repository; a volume repository opens nothing", async () => {
        const narrow = { apiServerCidrs: ["172.18.0.0/16"] };
        const s3 = await world({ replicas: 1, image: IMAGE, backup: S3, networkPolicy: narrow });
        open(s3, s3.primary, S3_SERVER, 443);
        const restore = await world({
            replicas: 1,
            image: IMAGE,
            backup: { ...S3, enabled: false },
            restore: { fromClusterName: "old" },
            networkPolicy: narrow,
        });
        open(restore, restore.primary, S3_SERVER, 443);
        assert.strictEqual(restore.backupJob, undefined);
        assert.deepStrictEqual(restore.policies.map((p) => p.metadata.name), ["db"], "no backup Job, no policy for it");
        const volume = await world({ replicas: 1, image: IMAGE, backup: { enabled: true, repositoryType: "volume" }, networkPolicy: narrow });
        closed(volume, volume.primary, S3_SERVER, 443);
        const off = await world({ replicas: 1, networkPolicy: narrow });
        closed(off, off.primary, S3_SERVER, 443);
    });

    it("the default apiServerCidrs opens ports 443 and 6443 anywhere, and no other port", async () => {
        const w = await world({ replicas: 1 });
        open(w, w.primary, ELSEWHERE, 443);
        open(w, w.primary, ELSEWHERE, 6443);
        closed(w, w.primary, ELSEWHERE, 8443);
        closed(w, w.primary, ELSEWHERE, 53, "UDP");
    });

    it("dnsServers and dnsPort: OpenShift's DNS pods on 5353", async () => {
        const openshift = { podLabels: { "dns.operator.openshift.io/daemonset-dns": "default" }, namespaceLabels: { "kubernetes.io/metadata.name": "openshift-dns" } };
        const w = await world({ replicas: 1, networkPolicy: { dnsServers: [openshift], dnsPort: 5353 } }, { "openshift-dns": {} });
        const dns = pod("dns-default", "openshift-dns", { "dns.operator.openshift.io/daemonset-dns": "default" });
        open(w, w.primary, dns, 5353, "UDP");
        open(w, w.replica, dns, 5353, "TCP");
        closed(w, w.primary, dns, 53, "UDP");
        closed(w, w.primary, DNS, 5353, "UDP");
    });

    it("enabled: false creates no policy: everything passes", async () => {
        const r = await renderComponent("db", { image: IMAGE, backup: S3, networkPolicy: { enabled: false } });
        assert.deepStrictEqual(ofKind(r, "NetworkPolicy"), []);
        const w = await world({ image: IMAGE, backup: S3, networkPolicy: { enabled: false } });
        open(w, pod("intruder", "elsewhere", {}), w.primary, 5432);
        open(w, w.primary, ELSEWHERE, 80);
    });
});

describe("the NetworkPolicy evaluator (tests/unit/netpol-eval.ts)", () => {
    const policy = (name: string, namespace: string, spec: any): Manifest => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace }, spec }) as Manifest;
    const a = pod("a", "one", { app: "a" });
    const b = pod("b", "one", { app: "b" });
    const c = pod("c", "two", { app: "a" });
    const base = { namespaces: { one: {}, two: { env: "prod" } } };

    it("allows everything without policies, and nothing into a pod a rule-less Ingress policy selects", () => {
        const none: Cluster = { ...base, policies: [] };
        assert.ok(allowed(none, a, b, 5432) && allowed(none, c, b, 1));
        const denyB: Cluster = { ...base, policies: [policy("deny", "one", { podSelector: { matchLabels: { app: "b" } }, policyTypes: ["Ingress"] })] };
        assert.ok(!allowed(denyB, a, b, 5432));
        assert.ok(allowed(denyB, b, a, 5432), "b's egress is not restricted, a is not selected");
        // A policy in another namespace selects nothing here.
        const elsewhere: Cluster = { ...base, policies: [policy("deny", "two", { podSelector: {}, policyTypes: ["Ingress"] })] };
        assert.ok(allowed(elsewhere, a, b, 5432));
        assert.ok(!allowed(elsewhere, a, c, 5432));
    });

    it("a podSelector peer is the policy's namespace; with a namespaceSelector in the same peer it is AND, in two peers OR", () => {
        const ingress = (from: any[]) => ({ ...base, policies: [policy("p", "one", { podSelector: { matchLabels: { app: "b" } }, ingress: [{ from }] })] });
        const podOnly = ingress([{ podSelector: { matchLabels: { app: "a" } } }]);
        assert.ok(allowed(podOnly, a, b, 1));
        assert.ok(!allowed(podOnly, c, b, 1), "same labels, other namespace");
        const and = ingress([{ podSelector: { matchLabels: { app: "a" } }, namespaceSelector: { matchLabels: { env: "prod" } } }]);
        assert.ok(allowed(and, c, b, 1));
        assert.ok(!allowed(and, a, b, 1), "namespace one is not prod");
        const or = ingress([{ podSelector: { matchLabels: { app: "nobody" } } }, { namespaceSelector: { matchLabels: { env: "prod" } } }]);
        assert.ok(allowed(or, c, b, 1));
        assert.ok(!allowed(or, a, b, 1));
        const byName = ingress([{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "two" } } }]);
        assert.ok(allowed(byName, c, b, 1) && !allowed(byName, a, b, 1));
        const expr = ingress([{ podSelector: { matchExpressions: [{ key: "app", operator: "NotIn", values: ["a"] }] } }]);
        assert.ok(!allowed(expr, a, b, 1));
        assert.ok(allowed(expr, pod("d", "one", {}), b, 1), "NotIn matches a pod without the label");
    });

    it("egress with ipBlock and except, ports with protocol and endPort; an Egress policy without rules denies all egress", () => {
        const egress = (rules: any[]): Cluster => ({ ...base, policies: [policy("e", "one", { podSelector: { matchLabels: { app: "a" } }, policyTypes: ["Egress"], egress: rules })] });
        const out: External = { kind: "external", name: "x", ip: "10.1.2.3" };
        const blocked: External = { kind: "external", name: "y", ip: "10.1.9.9" };
        const cidr = egress([{ to: [{ ipBlock: { cidr: "10.1.0.0/16", except: ["10.1.9.0/24"] } }], ports: [{ protocol: "TCP", port: 1000, endPort: 1010 }] }]);
        assert.ok(allowed(cidr, a, out, 1005));
        assert.ok(!allowed(cidr, a, out, 1011));
        assert.ok(!allowed(cidr, a, out, 1005, "UDP"));
        assert.ok(!allowed(cidr, a, blocked, 1005));
        assert.ok(!allowed(cidr, a, b, 1005), "b's address is outside the block");
        assert.ok(allowed(cidr, b, out, 1), "b is not selected");
        assert.ok(!allowed(egress([]), a, b, 1));
        assert.ok(allowed(egress([{}]), a, out, 1), "an empty rule is every peer and port");
        // Without policyTypes and egress rules, a policy is Ingress only.
        const implicit: Cluster = { ...base, policies: [policy("i", "one", { podSelector: {}, ingress: [] })] };
        assert.ok(allowed(implicit, a, out, 1));
        assert.ok(!allowed(implicit, c, a, 1));
    });
});

/** Refused with an ArgError naming the setting, with the value and what is allowed, on one line. */
function refused(args: ReplicatedDatabaseArgs | Record<string, unknown>, setting: string, value: unknown, allowedText: RegExp): void {
    assert.throws(
        () => resolveArgs("db", args as ReplicatedDatabaseArgs),
        (err: unknown) => {
            assert.ok(err instanceof ArgError, `expected ArgError, got ${err}`);
            assert.strictEqual(err.setting, setting);
            assert.deepStrictEqual(err.value, value);
            assert.match(err.allowed, allowedText);
            assert.doesNotMatch(err.message, /\n/, "one line");
            return true;
        },
    );
}

describe("networkPolicy args", () => {
    const np = (v: unknown) => ({ networkPolicy: v }) as Record<string, unknown>;

    it("default to on, the namespace's pods as clients, kube-dns, and the API server and repository anywhere", () => {
        assert.deepStrictEqual(resolveArgs("db", {}).networkPolicy, {
            enabled: true,
            allowedClients: [{ podLabels: {}, namespaceLabels: undefined }],
            dnsServers: [{ podLabels: { "k8s-app": "kube-dns" }, namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" } }],
            dnsPort: 53,
            apiServerCidrs: ["0.0.0.0/0"],
            backupRepositoryCidrs: ["0.0.0.0/0"],
            allowedClientCidrs: [],
        });
        const r = resolveArgs("db", { networkPolicy: { allowedClients: [{ namespaceLabels: {} }], apiServerCidrs: ["10.0.0.0/8", "fd00::/64", "::/0"] } });
        assert.deepStrictEqual(r.networkPolicy.allowedClients, [{ podLabels: {}, namespaceLabels: {} }]);
        assert.deepStrictEqual(r.networkPolicy.apiServerCidrs, ["10.0.0.0/8", "fd00::/64", "::/0"]);
    });

    it("refuse a bad map, an unknown field and a non-boolean enabled", () => {
        refused(np("on"), "networkPolicy", "on", /a map of network policy settings/);
        refused(np([]), "networkPolicy", [], /a map/);
        refused(np({ allowClients: [] }), "networkPolicy.allowClients", [], /one of the network policy settings: enabled, allowedClients/);
        refused(np({ enabled: "yes" }), "networkPolicy.enabled", "yes", /true or false/);
        refused(np({ dnsPort: 0 }), "networkPolicy.dnsPort", 0, /a whole number from 1 to 65535/);
        refused(np({ dnsPort: "53" }), "networkPolicy.dnsPort", "53", /a whole number from 1 to 65535/);
    });

    it("refuse bad peers and peer lists", () => {
        refused(np({ allowedClients: { podLabels: {} } }), "networkPolicy.allowedClients", { podLabels: {} }, /a list of \{podLabels, namespaceLabels\}/);
        refused(np({ allowedClients: ["web"] }), "networkPolicy.allowedClients[0]", "web", /a map with podLabels and\/or namespaceLabels/);
        refused(np({ allowedClients: [{ labels: { app: "x" } }] }), "networkPolicy.allowedClients[0].labels", { app: "x" }, /one of podLabels, namespaceLabels/);
        refused(np({ allowedClients: [{ podLabels: "app=web" }] }), "networkPolicy.allowedClients[0].podLabels", "app=web", /a map of label keys to values/);
        refused(np({ allowedClients: [{ namespaceLabels: ["x"] }] }), "networkPolicy.allowedClients[0].namespaceLabels", ["x"], /a map of label keys/);
        refused(np({ dnsServers: [] }), "networkPolicy.dnsServers", [], /a non-empty list/);
        refused(np({ dnsServers: [{ podLabels: { "k8s-app": "kube dns" } }] }), "networkPolicy.dnsServers[0].podLabels.k8s-app", "kube dns", /a label value/);
    });

    it("refuse label keys and values that Kubernetes refuses", () => {
        const key = (k: string) => refused(np({ allowedClients: [{ podLabels: { [k]: "x" } }] }), "networkPolicy.allowedClients[0].podLabels", k, /a label key/);
        key("-app");
        key("app-");
        key("a b");
        key("x".repeat(64));
        key("Example.com/app");
        key("/app");
        key("a/b/c");
        key(`${"a".repeat(254)}/app`);
        key("");
        const value = (v: unknown) => refused(np({ allowedClients: [{ namespaceLabels: { team: v } }] }), "networkPolicy.allowedClients[0].namespaceLabels.team", v, /a label value/);
        value("-x");
        value("x.");
        value("x".repeat(64));
        value("a/b");
        value(5);
        value(null);
        // The checks accept what Kubernetes accepts.
        assert.strictEqual(checkLabelKey("k", "app.kubernetes.io/name"), "app.kubernetes.io/name");
        assert.strictEqual(checkLabelKey("k", "A_b.c-D"), "A_b.c-D");
        assert.strictEqual(checkLabelKey("k", `${"a".repeat(253)}/${"b".repeat(63)}`).length, 317);
        assert.strictEqual(checkLabelValue("v", ""), "");
        assert.strictEqual(checkLabelValue("v", "x".repeat(63)), "x".repeat(63));
    });

    it("refuse bad CIDRs and empty CIDR lists", () => {
        for (const bad of ["10.0.0.1/16", "10.0.0.0/33", "300.0.0.0/8", "10.0.0.0", "010.0.0.0/8", "10.0.0/24", "fd00::/129", "fd00::1::/64", "any", 42]) {
            refused(np({ apiServerCidrs: [bad] }), "networkPolicy.apiServerCidrs[0]", bad, /a CIDR such as "10.0.0.0\/16"/);
        }
        refused(np({ backupRepositoryCidrs: ["0.0.0.0/0", "1.2.3.5/31"] }), "networkPolicy.backupRepositoryCidrs[1]", "1.2.3.5/31", /no bits set after the prefix/);
        refused(np({ apiServerCidrs: [] }), "networkPolicy.apiServerCidrs", [], /a non-empty list of CIDRs: the pods' failover manager or role-labeler needs the Kubernetes API/);
        refused(np({ backupRepositoryCidrs: "0.0.0.0/0" }), "networkPolicy.backupRepositoryCidrs", "0.0.0.0/0", /a non-empty list of CIDRs/);
        for (const good of ["0.0.0.0/0", "10.96.0.1/32", "192.168.0.0/16", "::/0", "2001:db8::/32"]) {
            assert.strictEqual(checkCidr("c", good), good);
        }
    });

    it("name the stack config key in the program", () => {
        assert.throws(
            () => resolveConfig({ [configKey("networkPolicy")]: JSON.stringify({ allowedClients: [{ podLabels: { "-x": "y" } }] }) }),
            (err: unknown) => err instanceof ArgError && err.setting === "replicated-db:networkPolicy.allowedClients[0].podLabels" && err.value === "-x",
        );
    });
});
