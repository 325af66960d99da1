/**
 * The model of the Pulumi engine's Docker and random providers for every input this program
 * sends: per resource type and field, whether a change replaces the resource or updates it in
 * place, and what the provider's Read stores (the state the next `pulumi up` diffs the
 * program's inputs against). One table, each entry citing the upstream source it comes from.
 * An input the table does not know is an error, nested fields too: a new field cannot reach
 * the planner (plan/engine.ts) unmodelled.
 *
 * Sources, read (not run: no Pulumi CLI or provider plugin runs here):
 * - @pulumi/docker 5.2.0 bridges kreuzwerker/terraform-provider-docker: pulumi-docker v5.1.0's
 *   `upstream` is v4.5.0 (commit 5074970c), and nothing in that provider's source changed for the
 *   fields below up to its master of 2026-07-22. 5.2.0's SDK adds upload `owner` and `group`,
 *   which neither has: they are modelled like the other upload fields. Paths below are that
 *   provider's `internal/provider/` files.
 * - pulumi-docker provider/resources.go: the Pulumi names, and Container's provider-level
 *   DeleteBeforeReplace.
 * - @pulumi/random 4.21 bridges hashicorp/terraform-provider-random (internal/provider/).
 * - @pulumi/tls 5.6.1 bridges hashicorp/terraform-provider-tls (internal/provider/), a
 *   plugin-framework provider: every attribute is stored as planned (Create sets the state from
 *   the plan, Read changes nothing but ready_for_renewal), so each input is read back as sent.
 * - Docker Engine behaviour (moby): client/service_create.go (QueryRegistry),
 *   daemon/daemon_unix.go (the default swap limit).
 *
 * Field semantics follow the Terraform plugin SDK v2's diff, which the bridge runs: a field
 * left out compares as its default, or its type's zero value; a "computed" field left out
 * keeps what is stored; a value not known yet differs, and replaces if the field itself is
 * ForceNew (for a whole block: only the block's own ForceNew counts, as `diffList` marks only
 * the count of a computed list).
 */
/** How Read stores a field the program sent. */
export type ReadForm =
    /** Read sets it from what Docker reports, which is the value as sent. */
    | "sent"
    /** Read does not set it: the state keeps the value as sent. */
    | "kept"
    /** Go's `time.Duration.String()` with `shortDur`'s trims: "60s" is stored as "1m". */
    | "goDuration"
    /** Swarm networks: only `{ id }`, a name resolved to the network's ID. */
    | "networkIds";

export type FieldType = "string" | "int" | "bool" | "list" | "set" | "map" | "block";

export interface FieldModel {
    type: FieldType;
    /** A change replaces the resource (the provider's ForceNew / RequiresReplace). */
    forceNew: boolean;
    /** Optional and computed in the schema: left out, what is stored stands. */
    computed?: boolean;
    /** The schema's default, sent (and read back) when the program leaves the field out. */
    default?: unknown;
    /** What Read stores when the program leaves the field out and the schema has no default. */
    readWhenAbsent?: unknown;
    read: ReadForm;
    /** A block's fields, or the fields of each element of a list or set of blocks. */
    fields?: Record<string, FieldModel>;
    /** Upstream file and function. */
    source: string;
}

export interface ResourceModel {
    /** A component: no provider, nothing stored, never replaced for a property. */
    component?: true;
    /** The provider asks for delete-before-replace itself. */
    deleteBeforeReplace?: boolean;
    fields: Record<string, FieldModel>;
    source: string;
}

export interface Platform {
    architecture: string;
    os: string;
}

/** What the model needs to know of the engine that answers. */
export interface EngineFacts {
    /** Network name or ID → ID: how Docker resolves a service's network. */
    networkIds?: Record<string, string>;
    /** A registry's answer for an image reference; absent: none answers (a local image, or no registry). */
    registry?: Record<string, { digest: string; platforms?: Platform[] }>;
    /** Whether the engine limits swap; without it Docker stores -1 for any swap limit. Default true. */
    swapLimit?: boolean;
}

/** An input the model does not know: the program sends something the planner cannot judge. */
export class UnmodelledInputError extends Error {
    constructor(type: string, path: string) {
        super(`${type}: input ${path} is not in the engine model (plan/engineModel.ts); model it from the provider's source first`);
        this.name = "UnmodelledInputError";
    }
}

const CONTAINER = "resource_docker_container.go resourceDockerContainer";
const CONTAINER_READ = "resource_docker_container_funcs.go resourceDockerContainerRead";
const SERVICE = "resource_docker_service.go resourceDockerService";
const SERVICE_READ = "resource_docker_service_funcs.go resourceDockerServiceReadRefreshFunc, resource_docker_service_structures.go";

function field(type: FieldType, change: "replace" | "update", read: ReadForm, source: string, more: Partial<FieldModel> = {}): FieldModel {
    return { type, forceNew: change === "replace", read, source, ...more };
}

/** A set of `{ label, value }`: labelSchema (a set), read back by mapToLabelSet where read at all. */
const labelFields = (change: "replace" | "update", read: ReadForm, source: string) =>
    field("set", change, read, source, {
        fields: {
            label: field("string", change, read, `${source}; labelSchema`),
            value: field("string", change, read, `${source}; labelSchema`),
        },
    });

/** A service's secret or config reference (`secrets` / `configs` of container_spec). */
const fileReference = (idKey: string, nameKey: string): Record<string, FieldModel> => ({
    [idKey]: field("string", "update", "sent", `${SERVICE} container_spec; flattenServiceSecrets/flattenServiceConfigs`),
    [nameKey]: field("string", "update", "sent", `${SERVICE} container_spec; flattenServiceSecrets/flattenServiceConfigs`),
    fileName: field("string", "update", "sent", `${SERVICE} container_spec`),
    fileUid: field("string", "update", "sent", `${SERVICE} container_spec (default "0")`, { default: "0" }),
    fileGid: field("string", "update", "sent", `${SERVICE} container_spec (default "0")`, { default: "0" }),
    fileMode: field("int", "update", "sent", `${SERVICE} container_spec (default 0o444)`, { default: 0o444 }),
});

/** update_config and rollback_config: every field has a default, all read back (flattenServiceUpdateOrRollbackConfig). */
const updateOrRollback = (name: string): FieldModel =>
    field("block", "update", "sent", `${SERVICE} ${name}; flattenServiceUpdateOrRollbackConfig`, {
        fields: {
            parallelism: field("int", "update", "sent", `${SERVICE} ${name}.parallelism`, { default: 1 }),
            delay: field("string", "update", "goDuration", `${SERVICE} ${name}.delay; shortDur`, { default: "0s" }),
            failureAction: field("string", "update", "sent", `${SERVICE} ${name}.failure_action`, { default: "pause" }),
            monitor: field("string", "update", "goDuration", `${SERVICE} ${name}.monitor; shortDur`, { default: "5s" }),
            maxFailureRatio: field("string", "update", "sent", `${SERVICE} ${name}.max_failure_ratio`, { default: "0.0" }),
            order: field("string", "update", "sent", `${SERVICE} ${name}.order`, { default: "stop-first" }),
        },
    });

const TLS = "terraform-provider-tls internal/provider";
/** A PEM input: replaced when its PEM differs from the stored one (requireReplaceIfStateContainsPEMString). */
const pemInput = (file: string, attribute: string) =>
    field("string", "replace", "sent", `${TLS}/${file} ${attribute} (requireReplaceIfStateContainsPEMString)`);
/** A certificate's or request's subject: a block, every field RequiresReplace. */
const subjectBlock = (file: string) =>
    field("block", "replace", "sent", `${TLS}/${file} subject (RequiresReplace)`, {
        fields: {
            commonName: field("string", "replace", "sent", `${TLS}/${file} subject.common_name`),
            organization: field("string", "replace", "sent", `${TLS}/${file} subject.organization`),
        },
    });
/** Fields of a certificate both SelfSignedCert and LocallySignedCert take (common_cert.go). */
const certificateFields = (file: string): Record<string, FieldModel> => ({
    validityPeriodHours: field("int", "replace", "sent", `${TLS}/${file} validity_period_hours (RequiresReplace)`),
    allowedUses: field("list", "replace", "sent", `${TLS}/${file} allowed_uses (RequiresReplace)`),
    isCaCertificate: field("bool", "replace", "sent", `${TLS}/${file} is_ca_certificate (RequiresReplace, default false)`, {
        default: false,
    }),
    setSubjectKeyId: field("bool", "replace", "sent", `${TLS}/${file} set_subject_key_id (RequiresReplace, default false)`, {
        default: false,
    }),
    // The one input changed in place (updatedUsingPlan): the certificate stays.
    earlyRenewalHours: field("int", "update", "sent", `${TLS}/${file} early_renewal_hours (no RequiresReplace, default 0)`, {
        default: 0,
    }),
});

/** The table: every resource type the program registers, every input it sends. */
export const ENGINE_MODEL: Readonly<Record<string, ResourceModel>> = {
    "nexus-redis:redis:StandardEnvironment": { component: true, fields: {}, source: "components/standardEnvironment.ts" },
    "nexus-redis:redis:SecureEnvironment": { component: true, fields: {}, source: "components/secureEnvironment.ts" },

    "docker:index/container:Container": {
        // Containers have fixed names: the bridge asks for delete-before-replace whatever the program says.
        deleteBeforeReplace: true,
        source: `${CONTAINER}; pulumi-docker provider/resources.go (docker_container: DeleteBeforeReplace: true)`,
        fields: {
            name: field("string", "replace", "sent", `${CONTAINER} name; ${CONTAINER_READ} (container.Name)`),
            // Read takes container.Image (the image ID) when the value sent starts with sha256:.
            image: field("string", "replace", "sent", `${CONTAINER} image; ${CONTAINER_READ} (container.Image for sha256:)`),
            command: field("list", "replace", "sent", `${CONTAINER} command; ${CONTAINER_READ} (Config.Cmd)`, { computed: true }),
            uploads: field(
                "set",
                "replace",
                "kept",
                `${CONTAINER} upload (ForceNew: "the container is mutated once"); Read: "upload can't be imported"`,
                {
                    fields: {
                        file: field("string", "replace", "kept", `${CONTAINER} upload.file`),
                        content: field("string", "replace", "kept", `${CONTAINER} upload.content`),
                        permissions: field("string", "replace", "kept", `${CONTAINER} upload.permissions`),
                        owner: field(
                            "string",
                            "replace",
                            "kept",
                            "@pulumi/docker 5.2.0 types/input.d.ts ContainerUpload.owner, like the other upload fields",
                        ),
                        group: field(
                            "string",
                            "replace",
                            "kept",
                            "@pulumi/docker 5.2.0 types/input.d.ts ContainerUpload.group, like the other upload fields",
                        ),
                    },
                },
            ),
            ports: field("list", "replace", "sent", `${CONTAINER} ports; ${CONTAINER_READ} flattenContainerPorts (sorted by port)`, {
                fields: {
                    internal: field("int", "replace", "sent", `${CONTAINER} ports.internal`),
                    external: field("int", "replace", "sent", `${CONTAINER} ports.external`, { computed: true }),
                    ip: field("string", "replace", "sent", `${CONTAINER} ports.ip (default 0.0.0.0)`, { default: "0.0.0.0" }),
                    protocol: field("string", "replace", "sent", `${CONTAINER} ports.protocol (default tcp)`, { default: "tcp" }),
                },
            }),
            // Read sets networks_advanced only when the state has none (import): a name stays a name.
            networksAdvanced: field("set", "replace", "kept", `${CONTAINER} networks_advanced; ${CONTAINER_READ} (only when empty)`, {
                fields: {
                    name: field("string", "replace", "kept", `${CONTAINER} networks_advanced.name (name or id)`),
                    aliases: field("set", "replace", "kept", `${CONTAINER} networks_advanced.aliases`),
                },
            }),
            volumes: field("set", "replace", "kept", `${CONTAINER} volumes; ${CONTAINER_READ} ("// volumes": not read)`, {
                fields: {
                    volumeName: field("string", "replace", "kept", `${CONTAINER} volumes.volume_name`),
                    hostPath: field("string", "replace", "kept", `${CONTAINER} volumes.host_path`),
                    containerPath: field("string", "replace", "kept", `${CONTAINER} volumes.container_path`),
                    readOnly: field("bool", "replace", "kept", `${CONTAINER} volumes.read_only`),
                },
            }),
            envs: field("set", "replace", "kept", `${CONTAINER} env; ${CONTAINER_READ} (env and labels not read, issue #242)`, {
                computed: true,
            }),
            restart: field(
                "string",
                "update",
                "sent",
                `${CONTAINER} restart; ${CONTAINER_READ} (RestartPolicy.Name); resourceDockerContainerUpdate`,
                {
                    default: "no",
                },
            ),
            stopTimeout: field("int", "replace", "sent", `${CONTAINER} stop_timeout; ${CONTAINER_READ} (Config.StopTimeout)`, {
                computed: true,
            }),
            destroyGraceSeconds: field(
                "int",
                "update",
                "kept",
                `${CONTAINER} destroy_grace_seconds; ${CONTAINER_READ} ("can't be imported")`,
            ),
            labels: labelFields("replace", "kept", `${CONTAINER} labels (ForceNew, computed); ${CONTAINER_READ} (not read)`),
            memory: field(
                "int",
                "update",
                "sent",
                `${CONTAINER} memory; ${CONTAINER_READ} (HostConfig.Memory in MiB); resourceDockerContainerUpdate`,
            ),
            // Docker stores twice the memory when no swap limit is sent, and -1 on an engine
            // without swap accounting (moby daemon/daemon_unix.go); readBack applies both.
            memorySwap: field(
                "int",
                "update",
                "sent",
                `${CONTAINER} memory_swap; ${CONTAINER_READ} (HostConfig.MemorySwap in MiB, -1 as is)`,
            ),
        },
    },

    "docker:index/volume:Volume": {
        source: "resource_docker_volume.go resourceDockerVolume, resourceDockerVolumeRead",
        fields: {
            name: field("string", "replace", "sent", "resource_docker_volume.go name (ForceNew, computed)", { computed: true }),
            labels: labelFields("replace", "sent", "resource_docker_volume.go labels; resourceDockerVolumeRead (mapToLabelSet)"),
        },
    },

    "docker:index/network:Network": {
        source: "resource_docker_network.go resourceDockerNetwork; resource_docker_network_funcs.go resourceDockerNetworkReadRefreshFunc",
        fields: {
            name: field("string", "replace", "sent", "resource_docker_network.go name"),
            driver: field("string", "replace", "sent", "resource_docker_network.go driver (computed)", { computed: true }),
            attachable: field("bool", "replace", "sent", "resource_docker_network.go attachable"),
            // `encryptedOverlay`: {encrypted: ""}. The provider passes the map to the Engine API as is.
            options: field("map", "replace", "sent", "resource_docker_network.go options (ForceNew, computed)", { computed: true }),
            labels: labelFields("replace", "sent", "resource_docker_network.go labels; resourceDockerNetworkReadRefreshFunc"),
        },
    },

    "docker:index/remoteImage:RemoteImage": {
        source: "resource_docker_image.go resourceDockerImage; resource_docker_image_funcs.go resourceDockerImageRead",
        fields: {
            name: field("string", "replace", "sent", "resource_docker_image.go name"),
            keepLocally: field("bool", "update", "kept", "resource_docker_image.go keep_locally; resourceDockerImageRead (not read)"),
        },
    },

    "docker:index/service:Service": {
        source: `${SERVICE}; ${SERVICE_READ}`,
        fields: {
            name: field("string", "replace", "sent", `${SERVICE} name`),
            labels: labelFields("update", "sent", `${SERVICE} labels (labelSchemaUpdatable, computed)`),
            mode: field("block", "replace", "sent", `${SERVICE} mode (ForceNew); flattenServiceMode`, {
                computed: true,
                fields: {
                    replicated: field("block", "update", "sent", `${SERVICE} mode.replicated; flattenReplicated`, {
                        computed: true,
                        fields: { replicas: field("int", "update", "sent", `${SERVICE} mode.replicated.replicas`, { default: 1 }) },
                    }),
                },
            }),
            taskSpec: field("block", "update", "sent", `${SERVICE} task_spec; flattenTaskSpec`, {
                fields: {
                    containerSpec: field("block", "update", "sent", `${SERVICE} task_spec.container_spec; flattenContainerSpec`, {
                        fields: {
                            // Created with QueryRegistry: readBack pins a registry's tag to its digest.
                            image: field(
                                "string",
                                "update",
                                "sent",
                                `${SERVICE} container_spec.image; resourceDockerServiceCreate (QueryRegistry)`,
                            ),
                            args: field("list", "update", "sent", `${SERVICE} container_spec.args`),
                            labels: labelFields("update", "sent", `${SERVICE} container_spec.labels`),
                            mounts: field("set", "update", "sent", `${SERVICE} container_spec.mounts; flattenServiceMounts`, {
                                fields: {
                                    type: field("string", "update", "sent", `${SERVICE} mounts.type`),
                                    source: field("string", "update", "sent", `${SERVICE} mounts.source`),
                                    target: field("string", "update", "sent", `${SERVICE} mounts.target`),
                                    readOnly: field("bool", "update", "sent", `${SERVICE} mounts.read_only`),
                                    volumeOptions: field("block", "update", "sent", `${SERVICE} mounts.volume_options`, {
                                        fields: {
                                            labels: labelFields("update", "sent", `${SERVICE} mounts.volume_options.labels`),
                                            noCopy: field("bool", "update", "sent", `${SERVICE} mounts.volume_options.no_copy`),
                                        },
                                    }),
                                },
                            }),
                            secrets: field("set", "update", "sent", `${SERVICE} container_spec.secrets; flattenServiceSecrets`, {
                                fields: fileReference("secretId", "secretName"),
                            }),
                            configs: field("set", "update", "sent", `${SERVICE} container_spec.configs; flattenServiceConfigs`, {
                                fields: fileReference("configId", "configName"),
                            }),
                            stopGracePeriod: field(
                                "string",
                                "update",
                                "goDuration",
                                `${SERVICE} container_spec.stop_grace_period (computed); flattenContainerSpec (shortDur)`,
                                {
                                    computed: true,
                                },
                            ),
                        },
                    }),
                    // The set is not ForceNew, its elements' id and name are: a changed element replaces.
                    networksAdvanceds: field(
                        "set",
                        "update",
                        "networkIds",
                        `${SERVICE} task_spec.networks_advanced; flattenTaskNetworksAdvanced (id only)`,
                        {
                            fields: {
                                id: field("string", "replace", "sent", `${SERVICE} networks_advanced.id`),
                                name: field(
                                    "string",
                                    "replace",
                                    "sent",
                                    `${SERVICE} networks_advanced.name (deprecated: "constant replacements")`,
                                ),
                                aliases: field("set", "replace", "sent", `${SERVICE} networks_advanced.aliases`),
                            },
                        },
                    ),
                    placement: field("block", "update", "sent", `${SERVICE} task_spec.placement (computed); flattenTaskPlacement`, {
                        computed: true,
                        fields: {
                            constraints: field("set", "update", "sent", `${SERVICE} placement.constraints`),
                            platforms: field(
                                "set",
                                "update",
                                "sent",
                                `${SERVICE} placement.platforms; moby client ServiceCreate adds them`,
                                {
                                    fields: {
                                        architecture: field("string", "update", "sent", `${SERVICE} placement.platforms.architecture`),
                                        os: field("string", "update", "sent", `${SERVICE} placement.platforms.os`),
                                    },
                                },
                            ),
                        },
                    }),
                    // createRestartPolicy sends 0 for a missing max_attempts and window, which Read stores as 0 and "0s".
                    restartPolicy: field(
                        "block",
                        "update",
                        "sent",
                        `${SERVICE} task_spec.restart_policy (computed); createRestartPolicy, flattenTaskRestartPolicy`,
                        {
                            computed: true,
                            fields: {
                                condition: field("string", "update", "sent", `${SERVICE} restart_policy.condition`),
                                delay: field("string", "update", "goDuration", `${SERVICE} restart_policy.delay; shortDur`),
                                maxAttempts: field("int", "update", "sent", `${SERVICE} restart_policy.max_attempts`, {
                                    readWhenAbsent: 0,
                                }),
                                window: field("string", "update", "goDuration", `${SERVICE} restart_policy.window; shortDur`, {
                                    readWhenAbsent: "0s",
                                }),
                            },
                        },
                    ),
                    resources: field("block", "update", "sent", `${SERVICE} task_spec.resources (computed); flattenTaskResources`, {
                        computed: true,
                        fields: {
                            limits: field("block", "update", "sent", `${SERVICE} resources.limits; flattenResourceLimits`, {
                                fields: {
                                    memoryBytes: field("int", "update", "sent", `${SERVICE} resources.limits.memory_bytes`),
                                    nanoCpus: field("int", "update", "sent", `${SERVICE} resources.limits.nano_cpus`),
                                },
                            }),
                        },
                    }),
                },
            }),
            updateConfig: updateOrRollback("update_config"),
            rollbackConfig: updateOrRollback("rollback_config"),
            endpointSpec: field("block", "update", "sent", `${SERVICE} endpoint_spec (computed); flattenServiceEndpoint`, {
                computed: true,
                fields: {
                    mode: field("string", "update", "sent", `${SERVICE} endpoint_spec.mode (computed)`, { computed: true }),
                    ports: field("list", "update", "sent", `${SERVICE} endpoint_spec.ports; flattenServicePorts`, {
                        fields: {
                            name: field("string", "update", "sent", `${SERVICE} ports.name`),
                            protocol: field("string", "update", "sent", `${SERVICE} ports.protocol`, { default: "tcp" }),
                            targetPort: field("int", "update", "sent", `${SERVICE} ports.target_port`),
                            publishedPort: field("int", "update", "sent", `${SERVICE} ports.published_port (computed)`, { computed: true }),
                            publishMode: field("string", "update", "sent", `${SERVICE} ports.publish_mode`, { default: "ingress" }),
                        },
                    }),
                },
            }),
        },
    },

    "docker:index/secret:Secret": {
        source: "resource_docker_secret.go resourceDockerSecret, resourceDockerSecretRead (name only)",
        fields: {
            name: field("string", "replace", "sent", "resource_docker_secret.go name"),
            data: field("string", "replace", "kept", "resource_docker_secret.go data (Sensitive, never read back)"),
            labels: labelFields("replace", "kept", "resource_docker_secret.go labels; resourceDockerSecretRead (not read)"),
        },
    },

    "docker:index/serviceConfig:ServiceConfig": {
        source: "resource_docker_config.go resourceDockerConfig, resourceDockerConfigRead",
        fields: {
            name: field("string", "replace", "sent", "resource_docker_config.go name"),
            // Read stores base64.StdEncoding of the data: what the program sends.
            data: field("string", "replace", "sent", "resource_docker_config.go data; resourceDockerConfigRead"),
            labels: labelFields("replace", "sent", "resource_docker_config.go labels; resourceDockerConfigRead"),
        },
    },

    "random:index/randomPassword:RandomPassword": {
        source: "terraform-provider-random resource_password.go passwordSchemaV3",
        fields: {
            length: field("int", "replace", "sent", "resource_password.go length (RequiresReplace)"),
            special: field("bool", "replace", "sent", "resource_password.go special (RequiresReplace)"),
        },
    },

    "tls:index/privateKey:PrivateKey": {
        source: `${TLS}/resource_private_key.go privateKeyResource; common_key.go`,
        fields: {
            algorithm: field("string", "replace", "sent", `${TLS}/resource_private_key.go algorithm (RequiresReplace)`),
            // Its default, P224, is no curve TLS 1.3 offers: the program always sends P256.
            ecdsaCurve: field("string", "replace", "sent", `${TLS}/resource_private_key.go ecdsa_curve (RequiresReplace, default P224)`, {
                default: "P224",
            }),
            rsaBits: field("int", "replace", "sent", `${TLS}/resource_private_key.go rsa_bits (RequiresReplace, default 2048)`, {
                default: 2048,
            }),
        },
    },

    "tls:index/selfSignedCert:SelfSignedCert": {
        source: `${TLS}/resource_self_signed_cert.go selfSignedCertResource; common_cert.go createCertificate`,
        fields: {
            privateKeyPem: pemInput("resource_self_signed_cert.go", "private_key_pem"),
            subject: subjectBlock("resource_self_signed_cert.go"),
            dnsNames: field("list", "replace", "sent", `${TLS}/resource_self_signed_cert.go dns_names (RequiresReplace)`),
            ipAddresses: field("list", "replace", "sent", `${TLS}/resource_self_signed_cert.go ip_addresses (RequiresReplace)`),
            ...certificateFields("resource_self_signed_cert.go"),
        },
    },

    "tls:index/certRequest:CertRequest": {
        source: `${TLS}/resource_cert_request.go certRequestResource`,
        fields: {
            privateKeyPem: pemInput("resource_cert_request.go", "private_key_pem"),
            subject: subjectBlock("resource_cert_request.go"),
            dnsNames: field("list", "replace", "sent", `${TLS}/resource_cert_request.go dns_names (RequiresReplace)`),
            ipAddresses: field("list", "replace", "sent", `${TLS}/resource_cert_request.go ip_addresses (RequiresReplace)`),
        },
    },

    "tls:index/locallySignedCert:LocallySignedCert": {
        source: `${TLS}/resource_locally_signed_cert.go locallySignedCertResource; common_cert.go createCertificate`,
        fields: {
            certRequestPem: pemInput("resource_locally_signed_cert.go", "cert_request_pem"),
            caCertPem: pemInput("resource_locally_signed_cert.go", "ca_cert_pem"),
            caPrivateKeyPem: pemInput("resource_locally_signed_cert.go", "ca_private_key_pem"),
            ...certificateFields("resource_locally_signed_cert.go"),
        },
    },

    "random:index/randomId:RandomId": {
        source: "terraform-provider-random resource_id.go",
        fields: {
            byteLength: field("int", "replace", "sent", "resource_id.go byte_length (RequiresReplace)"),
            keepers: field("map", "replace", "sent", "resource_id.go keepers (RequiresReplaceIfValuesNotNull)"),
        },
    },
};

/** The model of a resource type; an unknown type is an error. */
export function resourceModel(type: string): ResourceModel {
    const model = ENGINE_MODEL[type];
    if (!model) throw new UnmodelledInputError(type, "(the resource type)");
    return model;
}

/** The value Pulumi's SDK sends for an input not known yet, as plan.ts renders it. */
export const UNKNOWN = "[unknown]";

export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN;
}

const GO_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's `time.ParseDuration` for the non-negative durations the program writes, in nanoseconds. */
export function parseGoDuration(text: string): number {
    if (text === "0") return 0;
    let total = 0;
    const rest = text.replace(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g, (_, n: string, unit: string) => {
        total += Number(n) * GO_UNITS[unit];
        return "";
    });
    if (rest !== "" || text === "") throw new Error(`"${text}" is not a Go duration`);
    return Math.round(total);
}

/**
 * A duration as the provider stores it: Go's `time.Duration.String()` (the largest units first,
 * seconds with their fraction; below a second in ms, µs or ns), then `shortDur`'s cut of a
 * trailing "m0s" to "m" and "h0m" to "h" (resource_docker_service_structures.go).
 */
export function formatGoDuration(nanoseconds: number): string {
    if (nanoseconds === 0) return "0s";
    let text: string;
    if (nanoseconds < 1e9) {
        const [unit, size] = nanoseconds < 1e3 ? ["ns", 1] : nanoseconds < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
        text = `${decimal(nanoseconds, size)}${unit}`;
    } else {
        const hours = Math.floor(nanoseconds / 3600e9);
        const minutes = Math.floor((nanoseconds % 3600e9) / 60e9);
        const seconds = `${decimal(nanoseconds % 60e9, 1e9)}s`;
        text = hours > 0 ? `${hours}h${minutes}m${seconds}` : minutes > 0 ? `${minutes}m${seconds}` : seconds;
    }
    if (text.endsWith("m0s")) text = text.slice(0, -2);
    if (text.endsWith("h0m")) text = text.slice(0, -2);
    return text;
}

/** `value / size` in decimal with no trailing zeros, as Go writes a duration's fraction. */
function decimal(value: number, size: number): string {
    const whole = Math.floor(value / size);
    const fraction = String(value % size)
        .padStart(String(size).length - 1, "0")
        .replace(/0+$/, "");
    return fraction === "" ? String(whole) : `${whole}.${fraction}`;
}

/** The zero value of a field's type: what a field left out compares as. */
export function zeroValue(model: FieldModel): unknown {
    switch (model.type) {
        case "string":
            return "";
        case "int":
            return 0;
        case "bool":
            return false;
        case "list":
        case "set":
            return [];
        case "map":
        case "block":
            return {};
    }
}

/** Throws on any key of `value` (a block or an element of one) the model does not know. */
export function checkKnown(type: string, fields: Record<string, FieldModel>, value: unknown, path: string): void {
    if (!value || typeof value !== "object" || Array.isArray(value) || isUnknown(value)) return;
    for (const [key, v] of Object.entries(value)) {
        const model = fields[key];
        const at = path ? `${path}.${key}` : key;
        if (!model) throw new UnmodelledInputError(type, at);
        if (model.fields && model.type === "block") checkKnown(type, model.fields, v, at);
        if (model.fields && (model.type === "list" || model.type === "set") && Array.isArray(v)) {
            for (const [i, element] of v.entries()) checkKnown(type, model.fields, element, `${at}[${i}]`);
        }
    }
}

function readField(model: FieldModel, value: unknown, facts: EngineFacts): unknown {
    if (isUnknown(value)) return value;
    switch (model.read) {
        case "goDuration":
            return formatGoDuration(parseGoDuration(String(value)));
        case "networkIds":
            return (value as Record<string, unknown>[]).map((n) => {
                const target = String(n.id ?? n.name);
                return { id: facts.networkIds?.[target] ?? target, ...(n.aliases ? { aliases: n.aliases } : {}) };
            });
        default:
            if (model.fields && model.type === "block") return readFields(model.fields, value as Record<string, unknown>, facts);
            if (model.fields && Array.isArray(value)) {
                return value.map((e) => readFields(model.fields!, e as Record<string, unknown>, facts));
            }
            return value;
    }
}

function readFields(fields: Record<string, FieldModel>, value: Record<string, unknown>, facts: EngineFacts): Record<string, unknown> {
    const stored: Record<string, unknown> = {};
    for (const [key, model] of Object.entries(fields)) {
        if (value[key] !== undefined) stored[key] = readField(model, value[key], facts);
        else if (model.readWhenAbsent !== undefined) stored[key] = model.readWhenAbsent;
        else if (model.default !== undefined) stored[key] = model.default;
    }
    return stored;
}

/** A reference pinned by digest (NAME@sha256:… or NAME:TAG@sha256:…). */
function isCanonical(image: string): boolean {
    return /@sha256:[0-9a-f]{64}$/.test(image);
}

/**
 * What the provider's Read stores after creating (or updating) a resource with `inputs`: the
 * state the engine diffs the next run's inputs against. Inputs as plan.ts renders them
 * (secrets shown). Throws UnmodelledInputError on an input the model does not know.
 */
export function readBack(type: string, inputs: Record<string, unknown>, facts: EngineFacts = {}): Record<string, unknown> {
    const model = resourceModel(type);
    checkKnown(type, model.fields, inputs, "");
    const stored = readFields(model.fields, inputs, facts);
    if (type === "docker:index/container:Container") {
        // moby daemon/daemon_unix.go: a memory limit with no swap limit gets twice the memory as
        // swap; an engine without swap accounting keeps no swap limit (-1).
        const memory = Number(inputs.memory ?? 0);
        if (memory > 0 && inputs.memorySwap === undefined) stored.memorySwap = 2 * memory;
        if (Number(stored.memorySwap ?? 0) > 0 && facts.swapLimit === false) stored.memorySwap = -1;
    }
    if (type === "docker:index/service:Service") {
        // resourceDockerServiceCreate sets QueryRegistry: Docker's client (moby client/service_create.go)
        // asks the registry, pins a tag to its digest and adds the image's platforms to the placement.
        const task = stored.taskSpec as Record<string, Record<string, unknown>> | undefined;
        const image = task?.containerSpec?.image;
        const answer = typeof image === "string" ? facts.registry?.[image] : undefined;
        if (task && answer) {
            if (!isCanonical(image as string)) task.containerSpec.image = `${image}@${answer.digest}`;
            if (answer.platforms && answer.platforms.length > 0) task.placement = { ...task.placement, platforms: answer.platforms };
        }
    }
    return stored;
}
