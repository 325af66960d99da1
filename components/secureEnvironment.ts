import * as pulumi from "@pulumi/pulumi";
import { type Endpoint, type EnvironmentBaseArgs, createVault, passwordOrGenerated } from "./vault";

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

    constructor(name: string, args: SecureEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("nexus-redis:redis:SecureEnvironment", name, {}, opts);
        this.vaultPassword = passwordOrGenerated(args.vaultPassword, `${name}-vault-password`, this);
        this.vault = createVault(this, name, args, this.vaultPassword, undefined).endpoint;
        this.registerOutputs({ vault: this.vault, vaultPassword: this.vaultPassword });
    }
}
