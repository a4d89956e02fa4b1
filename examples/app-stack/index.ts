// An application stack: it reads the database stack's connection strings through a StackReference and
// hands them to its Deployment as a Secret. The strings stay Pulumi secrets all the way. They ask for
// sslmode=verify-full, so the pods also get the database's CA certificate (public) and PGSSLROOTCERT names it.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
// e.g. "acme/replicated-db/dev": the stack that runs the database.
const db = new pulumi.StackReference("database", { name: config.require("databaseStack") });
const namespace = config.get("namespace") ?? "default";
const image = config.get("image") ?? "ghcr.io/acme/shop:1.4.2";

const secret = new k8s.core.v1.Secret("app-database", {
    metadata: { namespace, name: "app-database" },
    stringData: {
        DATABASE_URL: db.requireOutput("writeConnectionString") as pulumi.Output<string>,
        DATABASE_READ_URL: db.requireOutput("readConnectionString") as pulumi.Output<string>,
    },
});

const ca = new k8s.core.v1.ConfigMap("app-database-ca", {
    metadata: { namespace, name: "app-database-ca" },
    data: { "ca.crt": db.requireOutput("caCertificate") as pulumi.Output<string> },
});
const CA_DIR = "/etc/database-ca";

const labels = { "app.kubernetes.io/name": "shop" };
export const deployment = new k8s.apps.v1.Deployment("app", {
    metadata: { namespace, name: "shop", labels },
    spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
            metadata: { labels },
            spec: {
                containers: [
                    {
                        name: "shop",
                        image,
                        envFrom: [{ secretRef: { name: secret.metadata.name } }],
                        // libpq reads it for sslmode=verify-full; a JDBC URL takes sslrootcert=<file> instead.
                        env: [{ name: "PGSSLROOTCERT", value: `${CA_DIR}/ca.crt` }],
                        volumeMounts: [{ name: "database-ca", mountPath: CA_DIR, readOnly: true }],
                    },
                ],
                volumes: [{ name: "database-ca", configMap: { name: ca.metadata.name } }],
            },
        },
    },
}).metadata.name;

export const databaseHost = db.requireOutput("primaryHost");
