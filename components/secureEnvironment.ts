import * as pulumi from "@pulumi/pulumi";
import { BACKUP_USER } from "./redisServer";
import type { Endpoint, EnvironmentBaseArgs } from "./environmentArgs";
import { passwordOrGenerated } from "./redisNode";
import { createVault } from "./vault";

/** Arguments of a secure environment: a vault alone. */
export type SecureEnvironmentArgs = EnvironmentBaseArgs;

/**
 * A secure environment of the Redis Environment Protocol (user, locker): a password-protected,
 * persistent vault and no operational replica, so its data is never readable without the
 * password. The component's name is the environment's name (`nexus3-{name}-vault`).
 */
export class SecureEnvironment extends pulumi.ComponentResource {
    /** Where the vault is reached. */
    public readonly vault: Endpoint;
    /** The vault's password (secret). */
    public readonly vaultPassword: pulumi.Output<string>;
    /** ACL user that can take a snapshot of the vault (`redis-cli --rdb`) and do nothing else. */
    public readonly backupUser: string = BACKUP_USER;
    /** Password of the backup user (secret). */
    public readonly backupPassword: pulumi.Output<string>;

    constructor(name: string, args: SecureEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("nexus-redis:redis:SecureEnvironment", name, {}, opts);
        this.vaultPassword = passwordOrGenerated(args.vaultPassword, `${name}-vault-password`, this);
        this.backupPassword = passwordOrGenerated(args.backupPassword, `${name}-backup-password`, this);
        this.vault = createVault(this, name, args, { password: this.vaultPassword, backupPassword: this.backupPassword }).endpoint;
        this.registerOutputs({
            vault: this.vault,
            vaultPassword: this.vaultPassword,
            backupUser: this.backupUser,
            backupPassword: this.backupPassword,
        });
    }
}
