/**
 * nexus-redis: every environment of the Redis Environment Protocol, on one Docker host or
 * on a Docker Swarm (`platform`).
 *
 * Configuration is read here once (config.ts) and validated as a whole before any
 * resource is registered; everything below only turns it into resources.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tlsProvider from "@pulumi/tls";
import { Buffer } from "node:buffer";
import { readFleetConfig } from "./config";
import { SecureEnvironment, StandardEnvironment, contentName } from "./components";
import type { StackTls } from "./components/environmentArgs";

const config = readFleetConfig();
const swarm = config.platform === "swarm";

// On Docker, pulled once and shared: containers take the image ID, so a new image digest
// replaces them. On Swarm every node pulls (or already has) the image itself: a RemoteImage
// would land on the manager's engine alone. Changing `image` rolls through the services.
const image: pulumi.Input<string> = swarm
    ? config.image
    : new docker.RemoteImage("redis-image", { name: config.image, keepLocally: true }).imageId;

// The protocol's fleet shares one network; a stack may create it, or join one that exists
// (the fleet the protocol's operators set up by hand). On Swarm it is an attachable overlay,
// so that clients (MCP servers, the operator tools) on any node can join it. Containers and
// services take its name and ID from its outputs, so that a replacement of the network (its
// fixed name: the old one must go first) replaces them too: Docker removes no network in use.
const network: { name: pulumi.Output<string>; id: pulumi.Output<string> } = config.createNetwork
    ? new docker.Network(
          "storage-network",
          {
              name: config.network,
              ...(swarm ? { driver: "overlay", attachable: true } : { driver: "bridge" }),
              // IPsec between the nodes (Docker's `--opt encrypted`). Untested here: on this
              // project's test machines an encrypted overlay carries nothing (docs/tls.md).
              ...(config.encryptedOverlay ? { options: { encrypted: "" } } : {}),
              labels: [{ label: "nexus-redis.network", value: config.network }],
          },
          { deleteBeforeReplace: true },
      )
    : docker.getNetworkOutput({ name: config.network });
const networkName = network.name;

/**
 * One CA per stack (ECDSA P-256, ten years), which signs a certificate for every role. Its key
 * stays in the stack's state, a secret; its certificate is a stack output, which clients
 * need. On Swarm it is also one config every service mounts, under a name with a hash of its
 * content, so a client on the overlay can mount the same one.
 */
function stackCa(): { tls: StackTls; output: Record<string, unknown> } {
    const key = new tlsProvider.PrivateKey("tls-ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const caKeyPem = pulumi.secret(key.privateKeyPem);
    const ca = new tlsProvider.SelfSignedCert("tls-ca", {
        privateKeyPem: caKeyPem,
        subject: { commonName: `nexus-redis ${pulumi.getProject()}/${pulumi.getStack()} CA`, organization: "nexus-redis" },
        isCaCertificate: true,
        setSubjectKeyId: true,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        validityPeriodHours: 10 * 365 * 24,
    });
    // The certificate is public: the state and the outputs show it as it is.
    const caPem = pulumi.unsecret(ca.certPem);
    if (!swarm) return { tls: { caCertPem: caPem, caPrivateKeyPem: caKeyPem }, output: { ca: caPem } };
    const caConfig = new docker.ServiceConfig("tls-ca", {
        name: caPem.apply((pem) => contentName(`${config.containerPrefix}-tls-ca`, pem)),
        data: caPem.apply((pem) => Buffer.from(pem, "utf8").toString("base64")),
        labels: [{ label: "nexus-redis.tls-ca", value: config.containerPrefix }],
    });
    return {
        tls: { caCertPem: caPem, caPrivateKeyPem: caKeyPem, caConfig: { id: caConfig.id, name: caConfig.name } },
        output: { ca: caPem, caConfig: caConfig.name },
    };
}

const stackTls = config.tls ? stackCa() : undefined;

/**
 * With TLS: the stack's CA (PEM, not secret), which every client needs
 * (`pulumi stack output tls --json | jq -r .ca`), and on Swarm the name of the config that holds it.
 */
export const tls = stackTls?.output;

const common = {
    image,
    network: networkName,
    ...(swarm ? { networkId: network.id } : {}),
    bindAddress: config.bindAddress,
    containerPrefix: config.containerPrefix,
    memoryLimitMb: config.memoryLimitMb === 0 ? undefined : config.memoryLimitMb,
    platform: config.platform,
    tls: stackTls?.tls,
};

/** Platform swarm: each environment's vault node and what is published; undefined on Docker. */
function swarmPlacement(environment: string) {
    if (!config.swarm) return undefined;
    return {
        vaultNode: config.swarm.vaultNodes[environment],
        publishVault: config.swarm.publish.vault,
        publishOperational: config.swarm.publish.operational,
    };
}

/** What the operator CLI needs to reach a Swarm deployment: the overlay it joins and the image it runs there. */
function swarmOutput(environment: string) {
    if (!config.swarm) return {};
    return { platform: "swarm", swarm: { network: networkName, image: config.image, vaultNode: config.swarm.vaultNodes[environment] } };
}

/** Per environment: how to reach it, with every password a secret. Read by `nexus-redis check`. */
export const environments: Record<string, unknown> = {};

for (const env of config.environments) {
    const passwords = config.passwords[env.name] ?? {};
    // What both kinds of environment share: the vault, its passwords and its data.
    const vaultArgs = {
        ...common,
        vaultPort: env.vaultPort,
        vaultPassword: passwords.vault,
        backupPassword: passwords.backup,
        vaultData: config.vaultData[env.name],
        swarm: swarmPlacement(env.name),
    };
    const vaultOutputs = (e: StandardEnvironment | SecureEnvironment) => ({
        vault: { ...e.vault, password: e.vaultPassword },
        backup: { user: e.backupUser, password: e.backupPassword },
    });
    if (env.kind === "standard") {
        const e = new StandardEnvironment(env.name, {
            ...vaultArgs,
            operationalPort: env.operationalPort!,
            replicationPassword: passwords.replication,
            operationalAdminPassword: passwords.operationalAdmin,
        });
        environments[env.name] = {
            kind: "standard",
            ...swarmOutput(env.name),
            ...vaultOutputs(e),
            replication: { user: e.replicationUser, password: e.replicationPassword },
            operational: { ...e.operational, adminUser: e.operationalAdminUser, adminPassword: e.operationalAdminPassword },
        };
    } else {
        const e = new SecureEnvironment(env.name, vaultArgs);
        environments[env.name] = { kind: "secure", ...swarmOutput(env.name), ...vaultOutputs(e) };
    }
}
