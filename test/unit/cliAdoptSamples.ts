/**
 * contact as the protocol's operators built it by hand, as `nexus-redis adopt` finds it: the dev
 * stack before adopt, its vault and operational containers as docker inspect reads them, what
 * the vault answers (INFO, CONFIG GET, ACL USERS, the keyspace), and the judgement's context;
 * each test of adopt's decisions bends it into one case. Shared by the cli-adopt-*.test.ts
 * files. Not a test file itself (no `.test.ts`).
 */
import * as path from "node:path";
import { projectDefaults } from "../../cli/core/pulumiProject";
import { type StackView, stackView } from "../../cli/adopt/stack";
import { candidates } from "../../cli/adopt/candidates";
import type { ContainerFacts, Findings } from "../../cli/adopt/findings";

export const ROOT = path.resolve(__dirname, "../..");
export const PASSWORD = "contact-Secret-42";

/** The dev stack before adopt: nothing set but Pulumi.dev.yaml's two keys. */
export function view(stack: Record<string, string> = {}): StackView {
    return stackView({ createNetwork: "true", bindAddress: "127.0.0.1", ...stack }, projectDefaults(ROOT));
}

export function vaultContainer(over: Partial<ContainerFacts> = {}): ContainerFacts {
    return {
        name: "nexus3-contact-vault",
        state: "running",
        managed: false,
        image: "redis:7.2",
        command: ["docker-entrypoint.sh", "redis-server", "--requirepass", PASSWORD],
        bindings: [{ hostIp: "127.0.0.1", hostPort: 6630 }],
        networks: { "nexus-storage-network": "10.0.4.2" },
        mounts: [
            {
                type: "volume",
                name: "nexus3-contact-vault-data",
                source: "/var/lib/docker/volumes/nexus3-contact-vault-data/_data",
                destination: "/data",
                declared: true,
            },
        ],
        ...over,
    };
}

export function operationalContainer(over: Partial<ContainerFacts> = {}): ContainerFacts {
    return vaultContainer({
        name: "nexus3-contact-operational",
        command: ["docker-entrypoint.sh", "redis-server"],
        bindings: [{ hostIp: "127.0.0.1", hostPort: 6631 }],
        networks: { "nexus-storage-network": "10.0.4.3" },
        mounts: [{ type: "volume", name: "a".repeat(64), source: "/x", destination: "/data", declared: false }],
        ...over,
    });
}

/** contact as the protocol's operators built it: healthy, 100k keys, default persistence. */
export function contact(over: Partial<Findings> = {}, v: StackView = view()): Findings {
    return {
        candidate: candidates(v).find((c) => c.name === "contact")!,
        vault: vaultContainer(),
        operational: operationalContainer(),
        password: { value: PASSWORD, source: "its command line" },
        vaultRedis: {
            info: {
                redis_version: "7.2.4",
                role: "master",
                loading: "0",
                connected_slaves: "1",
                slave0: "ip=10.0.4.3,port=6379,state=online,offset=98,lag=0",
            },
            config: {
                dir: "/data",
                dbfilename: "dump.rdb",
                appendonly: "no",
                appenddirname: "appendonlydir",
                appendfilename: "appendonly.aof",
                save: "3600 1 300 100 60 10000",
            },
            users: ["default"],
            keyspace: { 0: { keys: 100_000, expires: 0 } },
        },
        operationalRedis: { info: { role: "slave", master_link_status: "up", master_sync_in_progress: "0" } },
        ...over,
    };
}

export const context = (v = view(), imageVersion = "7.2.4") => ({ view: v, imageVersion, requested: new Set<string>() });

export function withRedis(f: Findings, info: Record<string, string> = {}, config: Record<string, string> = {}, users?: string[]): Findings {
    return {
        ...f,
        vaultRedis: {
            ...f.vaultRedis,
            info: { ...f.vaultRedis!.info, ...info },
            config: { ...f.vaultRedis!.config, ...config },
            ...(users ? { users } : {}),
        },
    };
}
