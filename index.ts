/**
 * nexus-redis: every environment of the Redis Environment Protocol, on one Docker host.
 *
 * Configuration is read here once (config.ts) and validated as a whole before any
 * resource is registered; everything below only turns it into resources.
 */
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { readFleetConfig } from "./config";
import { SecureEnvironment, StandardEnvironment } from "./components";

const config = readFleetConfig();

// Pulled once and shared: containers take the image ID, so a new image digest replaces them.
const image = new docker.RemoteImage("redis-image", { name: config.image, keepLocally: true });

// The protocol's fleet shares one network; a stack may create it, or join one that exists
// (the fleet the protocol's operators set up by hand).
const networkName: pulumi.Output<string> = config.createNetwork
    ? new docker.Network("storage-network", {
          name: config.network,
          driver: "bridge",
          labels: [{ label: "nexus-redis.network", value: config.network }],
      }).name
    : docker.getNetworkOutput({ name: config.network }).name;

const common = {
    image: image.imageId,
    network: networkName,
    bindAddress: config.bindAddress,
    containerPrefix: config.containerPrefix,
    memoryLimitMb: config.memoryLimitMb === 0 ? undefined : config.memoryLimitMb,
};

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
            ...vaultOutputs(e),
            replication: { user: e.replicationUser, password: e.replicationPassword },
            operational: { ...e.operational, adminUser: e.operationalAdminUser, adminPassword: e.operationalAdminPassword },
        };
    } else {
        const e = new SecureEnvironment(env.name, vaultArgs);
        environments[env.name] = { kind: "secure", ...vaultOutputs(e) };
    }
}
