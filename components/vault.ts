/** The vault: the role that holds an environment's data, created from what both roles share (redisNode.ts). */
import * as pulumi from "@pulumi/pulumi";
import type { EnvironmentBaseArgs } from "./environmentArgs";
import { VAULT_CONFIG, VAULT_FILE_SHAPES, vaultCommand, vaultFiles } from "./redisServer";
import { type RedisNode, createRedisNode } from "./redisNode";
import { roleTls, tlsFileShapes } from "./roleTls";

/** The passwords a vault is created with. */
export interface VaultPasswordOutputs {
    password: pulumi.Output<string>;
    /** Absent for a secure environment. */
    replicationPassword?: pulumi.Output<string>;
    backupPassword: pulumi.Output<string>;
}

/** Creates the vault (a container and, unless its data exists already, a volume; or a Swarm service) as children of `parent`. */
export function createVault(
    parent: pulumi.ComponentResource,
    environment: string,
    args: EnvironmentBaseArgs,
    passwords: VaultPasswordOutputs,
): RedisNode {
    const files = pulumi
        .all([
            passwords.password,
            passwords.replicationPassword,
            passwords.backupPassword,
            args.memoryLimitMb,
            roleTls(parent, environment, "vault", args),
        ])
        .apply(([password, replicationPassword, backupPassword, memoryLimitMb, tlsFiles]) =>
            vaultFiles({ password, replicationPassword, backupPassword, memoryLimitMb, tls: tlsFiles }),
        );
    return createRedisNode(parent, environment, args, {
        role: "vault",
        command: vaultCommand,
        configFile: VAULT_CONFIG,
        fileShapes: [...VAULT_FILE_SHAPES, ...tlsFileShapes(args)],
        files: pulumi.secret(files),
        hostPort: args.vaultPort,
        // The vault's volume is the single source of truth: a `pulumi destroy` or a
        // replacement must not delete it. Docker hands back an existing volume of the same
        // name, so a re-created vault finds its data again.
        retainVolume: true,
        existingData: args.vaultData,
    });
}
