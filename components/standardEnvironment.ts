import * as pulumi from "@pulumi/pulumi";
import { PROTOCOL_CONTAINER_PREFIX } from "./protocol";
import {
    BACKUP_USER,
    OPERATIONAL_ADMIN_USER,
    OPERATIONAL_CONFIG,
    OPERATIONAL_FILE_SHAPES,
    REPLICATION_USER,
    containerName,
    operationalCommand,
    operationalFiles,
} from "./redisServer";
import type { Endpoint, EnvironmentBaseArgs } from "./environmentArgs";
import { createRedisNode, passwordOrGenerated } from "./redisNode";
import { createVault } from "./vault";
import { roleTls, tlsFileShapes } from "./roleTls";

/** Arguments of a standard environment: a vault and its operational replica. */
export interface StandardEnvironmentArgs extends EnvironmentBaseArgs {
    /** Host port of the operational replica. */
    operationalPort: pulumi.Input<number>;
    /** Password of the vault's replication user, to adopt an existing one. Default: generated. */
    replicationPassword?: pulumi.Input<string>;
    /** Password of the operational's admin user, to adopt an existing one. Default: generated. */
    operationalAdminPassword?: pulumi.Input<string>;
}

/**
 * A standard environment of the Redis Environment Protocol: a vault that takes every write
 * and an operational replica that serves reads without a password. The replica's command
 * names its vault by container name on the internal port and authenticates as a
 * replication-only user, so replication is right from the first start and the operational
 * never holds the vault's write password. The component's name is the environment's name.
 */
export class StandardEnvironment extends pulumi.ComponentResource {
    /** Where the vault is reached (authenticated, all writes). */
    public readonly vault: Endpoint;
    /** The vault's password (secret). */
    public readonly vaultPassword: pulumi.Output<string>;
    /** ACL user the operational replicates as; it can run PSYNC and REPLCONF only. */
    public readonly replicationUser: string = REPLICATION_USER;
    /** Password of the replication user (secret). */
    public readonly replicationPassword: pulumi.Output<string>;
    /** Where the operational replica is reached (reads without a password). */
    public readonly operational: Endpoint;
    /** ACL user on the operational allowed to reconfigure it, for repairs. */
    public readonly operationalAdminUser: string = OPERATIONAL_ADMIN_USER;
    /** Password of the operational's admin user (secret). */
    public readonly operationalAdminPassword: pulumi.Output<string>;
    /** ACL user that can take a snapshot of the vault (`redis-cli --rdb`) and do nothing else. */
    public readonly backupUser: string = BACKUP_USER;
    /** Password of the backup user (secret). */
    public readonly backupPassword: pulumi.Output<string>;

    constructor(name: string, args: StandardEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("nexus-redis:redis:StandardEnvironment", name, {}, opts);
        this.vaultPassword = passwordOrGenerated(args.vaultPassword, `${name}-vault-password`, this);
        this.replicationPassword = passwordOrGenerated(args.replicationPassword, `${name}-replication-password`, this);
        this.operationalAdminPassword = passwordOrGenerated(args.operationalAdminPassword, `${name}-operational-admin-password`, this);
        this.backupPassword = passwordOrGenerated(args.backupPassword, `${name}-backup-password`, this);
        const vault = createVault(this, name, args, {
            password: this.vaultPassword,
            replicationPassword: this.replicationPassword,
            backupPassword: this.backupPassword,
        });
        this.vault = vault.endpoint;

        // The vault's name from configuration, never from the vault's own outputs: with an
        // output here, every replacement of the vault (a new password, image or memory limit)
        // would replace the operational too, since the engine then treats every input built
        // from that output as unknown and the provider replaces on an unknown upload
        // (pulumi/pulumi step_generator.go calculateDependentReplacements).
        const vaultName = pulumi.output(args.containerPrefix ?? PROTOCOL_CONTAINER_PREFIX).apply((p) => containerName(p, name, "vault"));
        const files = pulumi
            .all([vaultName, this.replicationPassword, this.operationalAdminPassword, roleTls(this, name, "operational", args)])
            .apply(([vaultContainer, replicationPassword, adminPassword, tls]) =>
                operationalFiles({ vaultContainer, replicationPassword, adminPassword, tls }),
            );
        this.operational = createRedisNode(this, name, args, {
            role: "operational",
            command: operationalCommand,
            configFile: OPERATIONAL_CONFIG,
            fileShapes: [...OPERATIONAL_FILE_SHAPES, ...tlsFileShapes(args)],
            files: pulumi.secret(files),
            hostPort: args.operationalPort,
            // Not retained, unlike the vault's: the operational is rebuilt from the vault,
            // and replacing this volume is exactly the protocol's disaster recovery.
            retainVolume: false,
            // The vault must exist (and have its name on the network) before its replica starts.
            // A bare dependsOn: the engine replaces a dependent only for inputs that come from
            // the replaced resource's outputs, so replacing the vault leaves this one running.
            dependsOn: [vault.resource],
        }).endpoint;
        this.registerOutputs({
            vault: this.vault,
            vaultPassword: this.vaultPassword,
            replicationUser: this.replicationUser,
            replicationPassword: this.replicationPassword,
            operational: this.operational,
            operationalAdminUser: this.operationalAdminUser,
            operationalAdminPassword: this.operationalAdminPassword,
            backupUser: this.backupUser,
            backupPassword: this.backupPassword,
        });
    }
}
