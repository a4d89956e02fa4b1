/**
 * The connection pooler (issue 17) as rendered: its args' checks, the pgbouncer.ini, the Deployments,
 * Services, disruption budgets and ConfigMap, restricted pods, the pooler role's password (in the Secret
 * only), the certificate's names, the pooled outputs, and the NetworkPolicies under the evaluator.
 */
import * as assert from "assert";
import { PoolerArgs, ReplicatedDatabaseArgs } from "../../components/args";
import { pgbouncerIni, serverCheckQuery } from "../../components/pooler/pgbouncerIni";
import { resolvePooler } from "../../components/pooler/resolve";
import { resolveArgs } from "../../components/resolve";
import { names as deriveNames } from "../../components/naming";
import { ArgError } from "../../components/validation";
import { Rendered } from "../../render/render";
import { container, env, find, ofKind, renderComponent } from "./helpers";
import { Cluster, Pod, allowed, matches } from "./netpol-eval";
import { restrictedViolations } from "./podSecurity";

const ON: ReplicatedDatabaseArgs = { pooler: { enabled: true, readOnly: true } };
const roles = { appUser: "app", replicationUser: "replicator" };
const err = (given: PoolerArgs, r = roles) => {
    try {
        resolvePooler(given, r);
    } catch (e) {
        assert.ok(e instanceof ArgError, String(e));
        assert.ok(!e.message.includes("\n"), "one line");
        return e.message;
    }
    assert.fail(`accepted ${JSON.stringify(given)}`);
};

describe("pooler args", () => {
    it("defaults: off, transaction pooling in front of the read-write Service, 2 pods, a pinned image", () => {
        const p = resolveArgs("db").pooler;
        assert.deepStrictEqual(p, {
            enabled: false, poolMode: "transaction", readWrite: true, readOnly: false, defaultPoolSize: 20, maxClientConnections: 1000, replicas: 2,
            image: "ghcr.io/cloudnative-pg/pgbouncer:1.24.0", resources: { cpuRequest: "50m", memoryRequest: "64Mi", cpuLimit: "", memoryLimit: "128Mi" },
        });
        assert.strictEqual(resolvePooler({ enabled: true, poolMode: "session", resources: { memoryLimit: "256Mi" } }, roles).resources.memoryLimit, "256Mi");
    });

    it("refuses bad values with one line naming the setting, the value and what is allowed", () => {
        assert.strictEqual(err({ poolMode: "statement" }), 'invalid pooler.poolMode: "statement" (allowed: "transaction" or "session")');
        assert.match(err({ poolMode: 3 as any }), /^invalid pooler\.poolMode: 3 /);
        assert.match(err({ enabled: true, readWrite: false }), /^invalid pooler\.readWrite: false \(allowed: true, or pooler\.readOnly true/);
        assert.match(err({ defaultPoolSize: 0 }), /^invalid pooler\.defaultPoolSize: 0 \(allowed: a whole number from 1 to 1000\)/);
        assert.match(err({ defaultPoolSize: 50, maxClientConnections: 10 }), /^invalid pooler\.maxClientConnections: 10 \(allowed: at least pooler\.defaultPoolSize \(50\)\)/);
        assert.match(err({ replicas: 0 }), /^invalid pooler\.replicas: 0/);
        assert.match(err({ image: "pgbouncer" }), /^invalid pooler\.image: "pgbouncer" \(allowed: an image with a version tag or a digest/);
        assert.match(err({ image: "edoburu/pgbouncer:latest" }), /^invalid pooler\.image: "edoburu\/pgbouncer:latest"/);
        assert.match(err({ enabled: "yes" as any }), /^invalid pooler\.enabled: "yes" \(allowed: true or false\)/);
        assert.match(err({ poolSize: 3 } as any), /^invalid pooler\.poolSize: 3 \(allowed: one of the pooler settings: enabled, poolMode/);
        assert.match(err({ resources: { cpuRequest: "200m", cpuLimit: "100m" } }), /^invalid pooler\.resources\.cpuLimit: "100m" \(allowed: at least pooler\.resources\.cpuRequest/);
        assert.match(err({ resources: { memory: "1Gi" } as any }), /^invalid pooler\.resources\.memory:/);
        assert.match(err({ enabled: true }, { appUser: "pooler", replicationUser: "replicator" }), /^invalid appUser: "pooler" \(allowed: a role other than "pooler"/);
        // The pooler's role name is free for the application while the pooler is off.
        assert.doesNotThrow(() => resolvePooler({}, { appUser: "pooler", replicationUser: "replicator" }));
        // Through the component's resolver, with the stack config's key names.
        assert.throws(() => resolveArgs("db", { pooler: { poolMode: "statement" } }), /invalid pooler\.poolMode/);
    });
});

describe("pgbouncer.ini", () => {
    const args = resolveArgs("db", { namespace: "shop", pooler: { enabled: true, readOnly: true, poolMode: "session", defaultPoolSize: 7, maxClientConnections: 300 } });
    const names = deriveNames(args, { rbacSuffix: "labeler" });
    const paths = { run: "/run/pgbouncer", tls: "/etc/replicated-db/tls" };
    const settings = (text: string) => Object.fromEntries(text.split("\n").filter((l) => / = /.test(l) && !l.startsWith(";")).map((l) => [l.split(" = ")[0], l.slice(l.indexOf(" = ") + 3)]));

    it("passes the application database to its Service by name, and looks clients up with auth_query", () => {
        const rw = settings(pgbouncerIni(args, names, "rw", 5432, paths));
        assert.strictEqual(rw.app, "host=db-rw.shop.svc.cluster.local port=5432 dbname=app");
        assert.strictEqual(settings(pgbouncerIni(args, names, "ro", 5432, paths)).app, "host=db-ro.shop.svc.cluster.local port=5432 dbname=app");
        assert.strictEqual(rw.auth_type, "scram-sha-256");
        assert.strictEqual(rw.auth_user, "pooler");
        assert.strictEqual(rw.auth_query, "SELECT usename, passwd FROM pooler.user_secret($1)");
        assert.strictEqual(rw.auth_file, "/run/pgbouncer/userlist.txt");
        assert.strictEqual(rw.pool_mode, "session");
        assert.strictEqual(rw.default_pool_size, "7");
        assert.strictEqual(rw.max_client_conn, "300");
        assert.strictEqual(rw.listen_port, "5432");
        assert.strictEqual(rw.server_check_query, serverCheckQuery("rw"));
        assert.match(serverCheckQuery("rw"), /1 \/ \(NOT pg_catalog\.pg_is_in_recovery\(\)\)::int/);
        assert.strictEqual(settings(pgbouncerIni(args, names, "ro", 5432, paths)).server_check_query, "SELECT 1");
    });

    it("requires TLS from clients and verifies the servers against the CA; neither with TLS off", () => {
        const rw = settings(pgbouncerIni(args, names, "rw", 5432, paths));
        assert.strictEqual(rw.client_tls_sslmode, "require");
        assert.strictEqual(rw.client_tls_cert_file, "/etc/replicated-db/tls/tls.crt");
        assert.strictEqual(rw.client_tls_key_file, "/etc/replicated-db/tls/tls.key");
        assert.strictEqual(rw.server_tls_sslmode, "verify-full");
        assert.strictEqual(rw.server_tls_ca_file, "/etc/replicated-db/tls/ca.crt");
        const off = resolveArgs("db", { tls: { enabled: false }, pooler: { enabled: true } });
        assert.ok(!/tls/.test(pgbouncerIni(off, deriveNames(off, { rbacSuffix: "labeler" }), "rw", 5432, paths).replace(/^;.*$/gm, "")));
    });
});

describe("the pooler's objects", () => {
    let on: Rendered;
    let off: Rendered;
    before(async () => {
        on = await renderComponent("db", ON);
        off = await renderComponent("db");
    });

    it("renders nothing of the pooler when it is off, and leaves the database pods as they were", () => {
        assert.strictEqual(ofKind(off, "Deployment").length, 0);
        assert.ok(!off.manifests.some((m) => m.metadata.name.includes("pooler")));
        const pg = container(find(off, "StatefulSet"), "postgres");
        assert.ok(!pg.env.some((e: any) => e.name === "RDB_POOLER_USER"));
        assert.deepStrictEqual(Object.keys(find(off, "Secret", "db-credentials").stringData).sort(), ["app-password", "monitoring-password", "replication-password", "rewind-password", "superuser-password"]);
        assert.strictEqual(off.outputs.pooledWriteConnectionString, "");
        assert.strictEqual(off.outputs.pooledReadConnectionString, "");
    });

    it("one Deployment, Service and disruption budget per pooled Service, and one ConfigMap", async () => {
        for (const svc of ["rw", "ro"]) {
            const d = find(on, "Deployment", `db-pooler-${svc}`);
            assert.strictEqual(d.spec.replicas, 2);
            assert.deepStrictEqual(d.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
            const s = find(on, "Service", `db-pooler-${svc}`);
            assert.deepStrictEqual(s.spec.selector, d.spec.selector.matchLabels);
            assert.deepStrictEqual(s.spec.ports, [{ name: "pgbouncer", port: 5432, targetPort: "pgbouncer", protocol: "TCP" }]);
            const pdb = find(on, "PodDisruptionBudget", `db-pooler-${svc}`);
            assert.strictEqual(pdb.spec.maxUnavailable, 1);
            assert.deepStrictEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels);
            assert.ok(matches(d.spec.selector, d.spec.template.metadata.labels));
            const c = d.spec.template.spec.containers[0];
            assert.strictEqual(c.image, "ghcr.io/cloudnative-pg/pgbouncer:1.24.0");
            assert.deepStrictEqual(c.command, ["/bin/bash", "/etc/replicated-db/pooler/pooler.sh"]);
            assert.strictEqual(env(c, "RDB_POOLER_CONFIG").value, `/etc/replicated-db/pooler/pgbouncer-${svc}.ini`);
            // Probes only observe: a TCP connect, no exec.
            assert.deepStrictEqual(Object.keys(c.readinessProbe).sort(), ["failureThreshold", "periodSeconds", "tcpSocket", "timeoutSeconds"]);
            assert.ok(c.livenessProbe.tcpSocket && !c.livenessProbe.exec);
        }
        const cm = find(on, "ConfigMap", "db-pooler");
        assert.deepStrictEqual(Object.keys(cm.data).sort(), ["pgbouncer-ro.ini", "pgbouncer-rw.ini", "pooler.sh"]);
        assert.match(cm.data["pgbouncer-ro.ini"], /^app = host=db-ro\.default\.svc\.cluster\.local port=5432 dbname=app$/m);
        // Only readWrite (the default): no ro pooler.
        const r = await renderComponent("db", { pooler: { enabled: true } });
        assert.deepStrictEqual(ofKind(r, "Deployment").map((d) => d.metadata.name), ["db-pooler-rw"]);
        assert.strictEqual(r.outputs.pooledReadConnectionString, "");
    });

    it("its pods are admitted at restricted, spread over nodes, and never selected as database pods", () => {
        const sts = find(on, "StatefulSet");
        for (const svc of ["rw", "ro"]) {
            const d = find(on, "Deployment", `db-pooler-${svc}`);
            const spec = d.spec.template.spec;
            assert.deepStrictEqual(restrictedViolations(spec), []);
            assert.strictEqual(spec.automountServiceAccountToken, false);
            const term = spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
            assert.strictEqual(term.topologyKey, "kubernetes.io/hostname");
            assert.ok(matches(term.labelSelector, d.spec.template.metadata.labels));
            const labels = d.spec.template.metadata.labels;
            // The headless Service, the StatefulSet and the database's disruption budget must not see them.
            assert.ok(!matches({ matchLabels: find(on, "Service", "db-headless").spec.selector }, labels));
            assert.ok(!matches(sts.spec.selector, labels));
            assert.ok(!matches(find(on, "PodDisruptionBudget", "db").spec.selector, labels));
        }
    });

    it("the pooler role's password is in the cluster Secret, mounted alone in the pooler pods, and in no other object", () => {
        const secret = find(on, "Secret", "db-credentials").stringData;
        assert.ok(secret["pooler-password"].length >= 32);
        for (const svc of ["rw", "ro"]) {
            const vols = find(on, "Deployment", `db-pooler-${svc}`).spec.template.spec.volumes;
            assert.deepStrictEqual(vols.find((v: any) => v.name === "secret").secret, {
                secretName: "db-credentials",
                defaultMode: 0o440,
                items: [{ key: "pooler-password", path: "pooler-password" }],
            });
        }
        const passwords = Object.values(secret) as string[];
        for (const m of on.manifests.filter((x) => x.kind !== "Secret")) {
            for (const pw of passwords) assert.ok(!JSON.stringify(m).includes(pw), `${m.kind} ${m.metadata.name} carries a password`);
        }
        // The database pods create the role from the same key.
        const pg = container(find(on, "StatefulSet"), "postgres");
        assert.strictEqual(env(pg, "RDB_POOLER_USER").value, "pooler");
        const dbSecretVolume = find(on, "StatefulSet").spec.template.spec.volumes.find((v: any) => v.name === "secret");
        assert.ok(dbSecretVolume.secret.items.some((i: any) => i.key === "pooler-password"));
    });

    it("the pooler has a certificate of its own, for its Services only, and never the servers' key", () => {
        const requests = on.resources.filter((x) => x.type === "tls:index/certRequest:CertRequest");
        const byName = (n: string) => requests.find((x) => x.name === n)!.inputs;
        const pooler = byName("db-pooler-tls-request").dnsNames as string[];
        const expected = ["db-pooler-rw", "db-pooler-ro"].flatMap((svc) => [svc, `${svc}.default`, `${svc}.default.svc`, `${svc}.default.svc.cluster.local`]);
        assert.deepStrictEqual(pooler, expected);
        assert.strictEqual(byName("db-pooler-tls-request").subject.commonName, "db-pooler-rw.default.svc.cluster.local");
        // The server certificate no longer names the pooler: its key cannot pass for the pooler, nor the reverse.
        assert.ok(!(byName("db-tls-request").dnsNames as string[]).some((n) => n.includes("pooler")));
        // Its own key, signed by the same CA, in its own Secret, which is the only TLS Secret its pods mount.
        const keys = on.resources.filter((x) => x.type === "tls:index/privateKey:PrivateKey").map((x) => x.name).sort();
        assert.deepStrictEqual(keys, ["db-pooler-tls-key", "db-tls-ca-key", "db-tls-server-key"]);
        const cert = on.resources.find((x) => x.name === "db-pooler-tls")!;
        assert.strictEqual(cert.type, "tls:index/locallySignedCert:LocallySignedCert");
        assert.strictEqual(cert.inputs.caCertPem, on.resources.find((x) => x.name === "db-tls-server")!.inputs.caCertPem, "the servers' CA");
        assert.ok(find(on, "Secret", "db-pooler-tls"));
        for (const d of ofKind(on, "Deployment")) {
            const secrets = d.spec.template.spec.volumes.filter((v: any) => v.secret).map((v: any) => v.secret.secretName);
            assert.deepStrictEqual(secrets.sort(), ["db-credentials", "db-pooler-tls"], d.metadata.name);
        }
        assert.strictEqual(requests.filter((x) => x.name.includes("pooler")).length, 1);
        const offNames = off.resources.filter((x) => x.type === "tls:index/certRequest:CertRequest").map((x) => x.name);
        assert.deepStrictEqual(offNames, ["db-tls-request"], "no pooler, no pooler certificate");
    });

    it("publishes the pooled strings as secrets, with verify-full; without it when TLS is off", async () => {
        assert.ok(on.secretOutputs.includes("pooledWriteConnectionString") && on.secretOutputs.includes("pooledReadConnectionString"));
        const pw = encodeURIComponent(on.outputs.appPassword);
        assert.strictEqual(on.outputs.pooledWriteConnectionString, `postgresql://app:${pw}@db-pooler-rw.default.svc.cluster.local:5432/app?sslmode=verify-full`);
        assert.strictEqual(on.outputs.pooledReadConnectionString, `postgresql://app:${pw}@db-pooler-ro.default.svc.cluster.local:5432/app?sslmode=verify-full`);
        const plain = await renderComponent("db", { tls: { enabled: false }, pooler: { enabled: true } });
        assert.match(plain.outputs.pooledWriteConnectionString, /:5432\/app$/);
        assert.ok(!find(plain, "Deployment", "db-pooler-rw").spec.template.spec.volumes.some((v: any) => v.name === "tls"));
    });
});

describe("the pooler's network policy, evaluated", () => {
    let ip = 50;
    const pod = (name: string, namespace: string, labels: Record<string, string>): Pod => ({ kind: "pod", name, namespace, labels, ip: `10.244.1.${ip++}` });

    async function world(args: ReplicatedDatabaseArgs) {
        const r = await renderComponent("db", args);
        const cluster: Cluster = { namespaces: { default: {}, apps: {}, "kube-system": {} }, policies: ofKind(r, "NetworkPolicy") };
        const sts = find(r, "StatefulSet");
        const db = pod("db-0", "default", { ...sts.spec.template.metadata.labels, "replicated-db.io/role": "primary" });
        const poolers = ["rw", "ro"].filter((s) => ofKind(r, "Deployment").some((d) => d.metadata.name === `db-pooler-${s}`))
            .map((s) => pod(`db-pooler-${s}-x`, "default", { ...find(r, "Deployment", `db-pooler-${s}`).spec.template.metadata.labels }));
        return { cluster, db, poolers, r };
    }

    it("allowed clients reach the pooler, the pooler reaches the database port only, strangers reach neither", async () => {
        const w = await world({ networkPolicy: { allowedClients: [{ podLabels: { app: "shop" } }] }, ...ON });
        assert.strictEqual(w.cluster.policies.map((p) => p.metadata.name).sort().join(), "db,db-pooler");
        const shop = pod("shop-1", "default", { app: "shop" });
        const stranger = pod("other-1", "default", { app: "other" });
        const dns = pod("coredns", "kube-system", { "k8s-app": "kube-dns" });
        assert.strictEqual(w.poolers.length, 2);
        for (const p of w.poolers) {
            assert.ok(allowed(w.cluster, shop, p, 5432), `shop -> ${p.name}`);
            assert.ok(!allowed(w.cluster, stranger, p, 5432), `stranger -> ${p.name}`);
            assert.ok(!allowed(w.cluster, shop, p, 6432), `shop -> ${p.name}:6432`);
            assert.ok(allowed(w.cluster, p, w.db, 5432), `${p.name} -> db`);
            assert.ok(!allowed(w.cluster, p, w.db, 8008), `${p.name} -> db:8008`);
            assert.ok(allowed(w.cluster, p, dns, 53, "UDP"), `${p.name} -> DNS`);
            assert.ok(!allowed(w.cluster, p, { kind: "external", name: "x", ip: "8.8.8.8" }, 443), `${p.name} -> internet`);
            // The pooler is no way into the pods' other ports, nor a client of another pooler.
            assert.ok(!allowed(w.cluster, p, w.poolers[0] === p ? w.poolers[1] : w.poolers[0], 5432));
        }
        assert.ok(allowed(w.cluster, shop, w.db, 5432));
        assert.ok(!allowed(w.cluster, stranger, w.db, 5432));
    });

    it("with no allowed clients only the pooler reaches the database; without the pooler nothing changes", async () => {
        const w = await world({ networkPolicy: { allowedClients: [] }, ...ON });
        const shop = pod("shop-2", "default", { app: "shop" });
        assert.ok(!allowed(w.cluster, shop, w.poolers[0], 5432));
        assert.ok(allowed(w.cluster, w.poolers[0], w.db, 5432));
        const plain = await world({});
        assert.strictEqual(plain.cluster.policies.map((p) => p.metadata.name).join(), "db");
        // The cluster's own pods, the allowed clients, the metrics scrapers: no pooler rule.
        assert.strictEqual(find(plain.r, "NetworkPolicy", "db").spec.ingress.length, 3);
        // A pod that merely looks like a pooler of ANOTHER cluster gets nothing.
        const w2 = await world(ON);
        const foreign = pod("x", "default", { ...w2.poolers[0].labels, "app.kubernetes.io/instance": "other" });
        assert.ok(allowed(w2.cluster, foreign, w2.db, 5432), "allowed as a namespace client by the default allowedClients");
        const w3 = await world({ networkPolicy: { allowedClients: [] }, ...ON });
        assert.ok(!allowed(w3.cluster, foreign, w3.db, 5432));
    });
});
