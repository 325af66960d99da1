/**
 * The engine model's table for a Docker engine's resources: container, volume, network and
 * image (kreuzwerker/terraform-provider-docker `internal/provider/`; see plan/engineModel.ts).
 */
import { type ResourceModel, field, labelFields } from "./engineFields";

const CONTAINER = "resource_docker_container.go resourceDockerContainer";
const CONTAINER_READ = "resource_docker_container_funcs.go resourceDockerContainerRead";

export const DOCKER_MODEL: Readonly<Record<string, ResourceModel>> = {
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
};
