/**
 * A fleet built by hand exactly by the protocol's own steps: each vault `docker run ...
 * redis-server --requirepass PW` with Redis's default persistence, each operational a plain
 * `redis-server` on the shared network, replication set up at runtime with
 * `CONFIG SET masterauth` and `REPLICAOF <vault IP> 6379`. What `nexus-redis adopt` takes
 * over in the live tests and the benchmarks.
 *
 * Also the protocol-compatible way to take a vault's digest: a vault started the protocol's
 * way refuses DEBUG, so its content is streamed with `redis-cli --rdb` into a scratch server
 * that allows DEBUG DIGEST.
 */
import { randomBytes } from "node:crypto";
import type Redis from "ioredis";
import { parseKeyspace, totalKeys } from "../cli/adopt/settings";
import { findProtocolEnvironment } from "../components/protocol";
import { type Docker, exec } from "./docker";
import { RUN_LABEL_KEY, TEST_IMAGE, parseInfo, waitFor } from "./fleet";
import { type HandBuiltData, fillDataset, handBuiltClient, startHandBuilt, waitForRedis } from "./handBuilt";

export interface HandBuiltSpec {
    /** Environment name; its kind and ports come from the protocol's table. */
    name: string;
    /** What is mounted at the vault's /data. */
    data: HandBuiltData;
    /** More redis-server arguments of the vault. */
    vaultArgs?: string[];
    /** Set the password through the default user's ACL rules instead of --requirepass (not visible as such on the command line). */
    passwordByAcl?: boolean;
    /** Ports instead of the table's plus the offset. */
    vaultPort?: number;
    operationalPort?: number;
    /** Host address the ports are published on (default 127.0.0.1; "" every interface). */
    hostIp?: string;
    /** Network instead of the fleet's. */
    network?: string;
    /** Start no operational for a standard environment. */
    noOperational?: boolean;
    /** What is mounted at the operational's /data (default: the image's anonymous volume, as a plain `docker run` gives it). */
    operationalData?: HandBuiltData;
    /** Do not set up replication (the operational stays an empty master). */
    noReplication?: boolean;
}

export interface HandBuiltEnvironment {
    name: string;
    kind: "standard" | "secure";
    password: string;
    network: string;
    vault: { name: string; port: number; ip: string };
    operational?: { name: string; port: number };
}

export interface ProtocolFleetOptions {
    runId: string;
    /** containerPrefix: containers are `{prefix}-{env}-vault` and `-operational`. */
    prefix: string;
    network: string;
    portOffset: number;
    environments: HandBuiltSpec[];
    image?: string;
}

/** Creates a labelled network of the run (the protocol's nexus-storage-network, by hand). */
export async function createRunNetwork(docker: Docker, runId: string, name: string): Promise<string> {
    await docker.createNetwork({ Name: name, Driver: "bridge", Labels: { [RUN_LABEL_KEY]: runId }, CheckDuplicate: true });
    return name;
}

/** A container's address on a network, as the protocol's step 1 reads it with docker inspect. */
export async function addressOn(docker: Docker, container: string, network: string): Promise<string> {
    const info = await docker.getContainer(container).inspect();
    const ip = info.NetworkSettings.Networks[network]?.IPAddress;
    if (!ip) throw new Error(`${container} has no address on ${network}`);
    return ip;
}

/** Starts one environment by the protocol's steps. */
export async function buildEnvironment(docker: Docker, o: ProtocolFleetOptions, spec: HandBuiltSpec): Promise<HandBuiltEnvironment> {
    const table = findProtocolEnvironment(spec.name);
    if (!table) throw new Error(`${spec.name} is not in the protocol's table`);
    const password = randomBytes(12).toString("hex");
    const network = spec.network ?? o.network;
    const vaultName = `${o.prefix}-${spec.name}-vault`;
    const vaultPort = spec.vaultPort ?? table.vaultPort + o.portOffset;
    const auth = spec.passwordByAcl ? ["--user", "default", "on", `>${password}`, "~*", "&*", "+@all"] : ["--requirepass", password];
    await startHandBuilt(docker, {
        runId: o.runId,
        name: vaultName,
        args: [...auth, ...(spec.vaultArgs ?? [])],
        data: spec.data,
        port: vaultPort,
        hostIp: spec.hostIp,
        network,
        image: o.image,
    });
    await waitForRedis(vaultPort, password);
    const ip = await addressOn(docker, vaultName, network);
    const env: HandBuiltEnvironment = {
        name: spec.name,
        kind: table.kind,
        password,
        network,
        vault: { name: vaultName, port: vaultPort, ip },
    };
    if (table.kind === "secure" || spec.noOperational) return env;

    const operationalName = `${o.prefix}-${spec.name}-operational`;
    const operationalPort = spec.operationalPort ?? table.operationalPort! + o.portOffset;
    await startHandBuilt(docker, {
        runId: o.runId,
        name: operationalName,
        // The official image compiles protected-mode's default to no; Debian's Redis (the test
        // image's) keeps yes, which refuses a passwordless server's clients through a published port.
        args: ["--protected-mode", "no"],
        data: spec.operationalData ?? { kind: "anonymous" },
        port: operationalPort,
        hostIp: spec.hostIp,
        network,
        image: o.image,
    });
    await waitForRedis(operationalPort);
    env.operational = { name: operationalName, port: operationalPort };
    if (spec.noReplication) return env;
    // The protocol's step 2, from the host: redis-cli -p {op_port} CONFIG SET masterauth / REPLICAOF $VAULT_IP 6379.
    const client = handBuiltClient(operationalPort);
    try {
        await client.connect();
        await client.call("CONFIG", "SET", "masterauth", password);
        await client.call("REPLICAOF", ip, "6379");
    } finally {
        client.disconnect();
    }
    await linkUp(env);
    return env;
}

/** Builds every environment, one after the other. */
export async function buildProtocolFleet(docker: Docker, o: ProtocolFleetOptions): Promise<HandBuiltEnvironment[]> {
    const built: HandBuiltEnvironment[] = [];
    for (const spec of o.environments) built.push(await buildEnvironment(docker, o, spec));
    return built;
}

/** The protocol's step 3: `INFO replication` on the operational says master_link_status:up. */
export async function linkUp(env: HandBuiltEnvironment, timeoutMs = 60_000): Promise<void> {
    if (!env.operational) return;
    await waitFor(
        `${env.name}'s hand-built link`,
        async () => {
            const client = handBuiltClient(env.operational!.port);
            try {
                await client.connect();
                return parseInfo(await client.info("replication")).master_link_status === "up" ? true : undefined;
            } finally {
                client.disconnect();
            }
        },
        timeoutMs,
        100,
    );
}

/**
 * Waits until the operational replicates its vault by the protocol's steps: a replica of the
 * vault's address on the network as it is now (it may have changed with a restart), link up.
 */
export async function waitUntilReplicating(docker: Docker, env: HandBuiltEnvironment, timeoutMs = 60_000): Promise<void> {
    const ip = await addressOn(docker, env.vault.name, env.network);
    await waitFor(
        `${env.name}'s operational replicating ${ip}`,
        async () => {
            const replica = handBuiltClient(env.operational!.port);
            try {
                await replica.connect();
                const info = parseInfo(await replica.info("replication"));
                return info.role === "slave" && info.master_host === ip && info.master_link_status === "up" ? true : undefined;
            } finally {
                replica.disconnect();
            }
        },
        timeoutMs,
        200,
    );
}

/** A client of the vault with its password; the caller disconnects it. */
export function vaultClient(env: HandBuiltEnvironment): Redis {
    return handBuiltClient(env.vault.port, env.password);
}

/** Writes `keys` keys of several types into the vault (database 0), then waits until its operational has as many in all. */
export async function fillEnvironment(env: HandBuiltEnvironment, keys: number): Promise<void> {
    const client = vaultClient(env);
    try {
        await client.connect();
        await fillDataset(client, keys, env.name);
    } finally {
        client.disconnect();
    }
    if (!env.operational) return;
    await waitFor(
        `${env.name}'s operational to hold ${keys} keys`,
        async () => {
            const replica = handBuiltClient(env.operational!.port);
            try {
                await replica.connect();
                // Every database's keys (INFO keyspace), not DBSIZE's database 0 alone.
                return totalKeys(parseKeyspace(parseInfo(await replica.info("keyspace")))) === keys ? true : undefined;
            } finally {
                replica.disconnect();
            }
        },
        60_000,
        100,
    );
}

/**
 * The DEBUG DIGEST of a vault's dataset, without DEBUG on the vault: `redis-cli --rdb` (as
 * the vault's default user) on the network into a scratch server of the test image, which
 * loads the snapshot and allows DEBUG. The scratch container is removed with its volume.
 */
export async function snapshotDigest(
    docker: Docker,
    o: { runId: string; network: string; host: string; password: string; user?: string },
): Promise<string> {
    const user = o.user ? `--user ${o.user} ` : "";
    const container = await docker.createContainer({
        Image: TEST_IMAGE,
        Entrypoint: ["sh", "-c"],
        Cmd: [
            `redis-cli -h ${o.host} ${user}--rdb /tmp/snapshot.rdb >/dev/null && ` +
                "exec redis-server --dir /tmp --dbfilename snapshot.rdb --save '' --appendonly no --enable-debug-command local",
        ],
        Env: [`REDISCLI_AUTH=${o.password}`],
        Labels: { [RUN_LABEL_KEY]: o.runId },
        HostConfig: { NetworkMode: o.network },
    });
    try {
        await container.start();
        return await waitFor(
            "the snapshot's digest",
            async () => {
                // DEBUG runs during loading too, on what is loaded so far: wait until it is all there.
                const persistence = await exec(docker, container.id, ["redis-cli", "INFO", "persistence"]);
                if (parseInfo(persistence.stdout).loading !== "0") return undefined;
                const r = await exec(docker, container.id, ["redis-cli", "DEBUG", "DIGEST"]);
                const digest = r.stdout.trim();
                return r.exitCode === 0 && /^[0-9a-f]{40}$/.test(digest) ? digest : undefined;
            },
            120_000,
            200,
        );
    } finally {
        await container.remove({ force: true, v: true });
    }
}
