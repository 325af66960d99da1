/**
 * The engine model's table for a Swarm's resources: service, secret and config
 * (kreuzwerker/terraform-provider-docker `internal/provider/`; see plan/engineModel.ts).
 */
import { type FieldModel, type ResourceModel, field, labelFields } from "./engineFields";

const SERVICE = "resource_docker_service.go resourceDockerService";
const SERVICE_READ = "resource_docker_service_funcs.go resourceDockerServiceReadRefreshFunc, resource_docker_service_structures.go";

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

export const SWARM_MODEL: Readonly<Record<string, ResourceModel>> = {
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
};
