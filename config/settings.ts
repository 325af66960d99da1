/** The single-valued keys every platform reads: image, network, addresses, names, ports and memory. */
import { isIP } from "node:net";
import type { FleetConfig, RawConfig, Report } from "./types";
import { DOCKER_NAME, parseBoolean, parseInteger, requiredValue } from "./values";

// Redis does not count the 64 MiB replication backlog, client buffers or a fork's
// copy-on-write against maxmemory: below this, a busy vault is killed by the limit.
const MIN_MEMORY_MB = 256;

/** The single-valued keys, as FleetConfig holds them, and the port offset the environments take. */
export type Settings = Pick<FleetConfig, "image" | "network" | "createNetwork" | "bindAddress" | "containerPrefix" | "memoryLimitMb"> & {
    portOffset: number;
};

export function parseSettings(raw: RawConfig, problem: Report): Settings {
    const required = (key: Parameters<typeof requiredValue>[1]) => requiredValue(raw, key, problem);

    const image = required("image");
    if (raw.image !== undefined && (image === "" || /\s/.test(image))) problem("image", `"${image}" is not an image reference`);

    const network = required("network");
    if (raw.network !== undefined && !DOCKER_NAME.test(network)) problem("network", `"${network}" is not a valid Docker network name`);

    const createNetwork = parseBoolean(required("createNetwork"), "createNetwork", raw, problem);

    const bindAddress = required("bindAddress");
    if (raw.bindAddress !== undefined && isIP(bindAddress) === 0) problem("bindAddress", `"${bindAddress}" is not an IPv4 or IPv6 address`);

    const containerPrefix = required("containerPrefix");
    if (raw.containerPrefix !== undefined && !DOCKER_NAME.test(containerPrefix)) {
        problem(
            "containerPrefix",
            `"${containerPrefix}" is not valid in a Docker container name (letters, digits, _ . -, not starting with a symbol)`,
        );
    }

    const portOffset = parseInteger(required("portOffset"), "portOffset", raw, problem) ?? 0;
    const memoryLimitMb = parseInteger(required("memoryLimitMb"), "memoryLimitMb", raw, problem) ?? 0;
    if (memoryLimitMb !== 0 && memoryLimitMb < MIN_MEMORY_MB) {
        problem("memoryLimitMb", `${memoryLimitMb} is too small: 0 (no limit) or at least ${MIN_MEMORY_MB}`);
    }
    return { image, network, createNetwork, bindAddress, containerPrefix, portOffset, memoryLimitMb };
}
