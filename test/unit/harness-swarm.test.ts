/**
 * The Swarm harness's pure parts: the teardown script touches only its own cluster's names,
 * the nodes' resolver answers NXDOMAIN, and planned services map to the Engine API as the
 * provider maps them, refusing what the harness does not understand.
 */
import { describe, expect, it } from "vitest";
import type { StateResource } from "../../plan/engine";
import { UnsupportedPlanError } from "../../harness/fleet";
import { clusterNames, nxdomain, teardownScript } from "../../harness/swarm";
import { SwarmFleet, durationNs } from "../../harness/swarmFleet";

describe("the cluster's teardown script", () => {
    const names = clusterNames("nrswabc123", 3, "10.213.150");
    const script = teardownScript(names);

    it("removes the cluster's namespaces, veths, bridge, iptables rule, cgroups and folders, by their names only", () => {
        for (const line of script.split("\n").filter((l) => /^\s*(ip |iptables |rm |kill |rmdir )/.test(l))) {
            expect(line, line).toMatch(/\$id|\$u|\$i|\$d/);
        }
        expect(script).toContain("id=nrswabc123");
        expect(script).toContain("iptables -D FORWARD -i $id -o $id -j ACCEPT -m comment --comment $id");
        expect(script).toContain("rm -rf /tmp/$id /run/$id");
        expect(script).toContain("for n in n1 n2 n3; do");
        expect(script).not.toMatch(/pkill|killall|iptables -F/);
    });

    it("gives each node its own namespace, address, socket and cgroup parent", () => {
        expect(names.nodes.map((n) => [n.namespace, n.address, n.socket, n.cgroupParent])).toEqual([
            ["nrswabc123-n1", "10.213.150.11", "/run/nrswabc123/n1.sock", "nrswabc123-n1"],
            ["nrswabc123-n2", "10.213.150.12", "/run/nrswabc123/n2.sock", "nrswabc123-n2"],
            ["nrswabc123-n3", "10.213.150.13", "/run/nrswabc123/n3.sock", "nrswabc123-n3"],
        ]);
        // Interface names: at most 15 characters.
        for (const n of names.nodes) expect(n.hostVeth.length).toBeLessThanOrEqual(15);
    });
});

describe("the nodes' resolver", () => {
    it("answers any query with NXDOMAIN, the question echoed and no records", () => {
        // id 0x1234, RD, one question: "kb-vault." A IN, and an EDNS OPT record after it.
        const question = Buffer.from([8, ...Buffer.from("kb-vault"), 0, 0, 1, 0, 1]);
        const opt = Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0]);
        const query = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]), question, opt]);
        const answer = nxdomain(query)!;
        expect(answer.subarray(0, 4)).toEqual(Buffer.from([0x12, 0x34, 0x81, 0x83]));
        expect([answer.readUInt16BE(4), answer.readUInt16BE(6), answer.readUInt16BE(8), answer.readUInt16BE(10)]).toEqual([1, 0, 0, 0]);
        expect(answer.subarray(12)).toEqual(question);
        expect(nxdomain(Buffer.from([1, 2, 3]))).toBeUndefined();
    });
});

describe("planned services on the Engine API", () => {
    it("reads durations as the provider does", () => {
        expect(durationNs("60s")).toBe(60e9);
        expect(durationNs("1m30s")).toBe(90e9);
        expect(durationNs("250ms")).toBe(250e6);
        expect(() => durationNs("soon")).toThrow(UnsupportedPlanError);
    });

    const planned = (containerSpec: Record<string, unknown>): StateResource => ({
        urn: "urn:x",
        type: "docker:index/service:Service",
        name: "kb-operational",
        custom: true,
        outputs: {},
        propertyDependencies: {},
        dependencies: [],
        options: {},
        inputs: {
            name: "p-kb-operational",
            mode: { replicated: { replicas: 1 } },
            taskSpec: { containerSpec: { image: "redis:7.2", ...containerSpec }, placement: { constraints: ["node.id!=x"] } },
            updateConfig: { order: "stop-first", parallelism: 1 },
            endpointSpec: { mode: "dnsrr", ports: [{ targetPort: 6379, publishedPort: 6626, publishMode: "host", protocol: "tcp" }] },
        },
    });
    const cluster = { manager: { docker: {} } } as never;
    const fleet = new SwarmFleet(cluster, "nrs000000", { values: {}, secrets: {} });

    it("maps args, mounts, placement, update order and host-mode ports as the provider does, with its defaults", () => {
        const spec = fleet.swarmProvider.serviceSpec(
            planned({ args: ["redis-server", "/run/secrets/operational.conf"], mounts: [{ type: "tmpfs", target: "/data" }] }),
        ) as any;
        expect(spec.TaskTemplate.ContainerSpec).toMatchObject({
            Image: "redis:7.2",
            Args: ["redis-server", "/run/secrets/operational.conf"],
        });
        expect(spec.TaskTemplate.ContainerSpec.Command).toBeUndefined();
        expect(spec.TaskTemplate.ContainerSpec.Mounts).toEqual([{ Type: "tmpfs", Source: "", Target: "/data", ReadOnly: false }]);
        expect(spec.TaskTemplate.Placement).toEqual({ Constraints: ["node.id!=x"] });
        expect(spec.UpdateConfig).toEqual({
            Parallelism: 1,
            Delay: 0,
            FailureAction: "pause",
            Monitor: 5e9,
            MaxFailureRatio: 0,
            Order: "stop-first",
        });
        expect(spec.RollbackConfig.Order).toBe("stop-first");
        expect(spec.EndpointSpec).toEqual({
            Mode: "dnsrr",
            Ports: [{ Protocol: "tcp", TargetPort: 6379, PublishedPort: 6626, PublishMode: "host" }],
        });
        expect(spec.Labels).toEqual({ "nexus-redis.test-run": "nrs000000" });
    });

    it("refuses an input it does not understand, and a secret not created from the plan", () => {
        expect(() => fleet.swarmProvider.serviceSpec(planned({ healthcheck: { test: ["CMD", "true"] } }))).toThrow(
            /does not understand input\(s\) healthcheck/,
        );
        expect(() =>
            fleet.swarmProvider.serviceSpec(
                planned({
                    secrets: [{ secretId: "kb-operational-config-id", secretName: "s", fileName: "/run/secrets/operational.conf" }],
                }),
            ),
        ).toThrow(/kb-operational-config-id is not a network, secret or config created yet/);
    });

    it("attaches to the network by the ID the plan's network was created with, and refuses one it did not create", () => {
        const withNetwork = (id: string) => {
            const r = planned({});
            (r.inputs.taskSpec as any).networksAdvanceds = [{ id }];
            (r.inputs.taskSpec as any).restartPolicy = { condition: "any", delay: "2s", window: "0s" };
            return r;
        };
        expect(() => fleet.swarmProvider.serviceSpec(withNetwork("storage-network-id"))).toThrow(/storage-network-id is not a network/);
        // A stack deployed before hands over what it created: state ID → the manager's ID.
        const deployed = new SwarmFleet(
            cluster,
            "nrs000000",
            { values: {}, secrets: {} },
            { ids: new Map([["storage-network-id", "0123abcd"]]) },
        );
        const spec = deployed.swarmProvider.serviceSpec(withNetwork("storage-network-id")) as any;
        expect(spec.TaskTemplate.Networks).toEqual([{ Target: "0123abcd", Aliases: [] }]);
        expect(spec.TaskTemplate.RestartPolicy).toEqual({ Condition: "any", Delay: 2e9, Window: 0 });
    });
});
