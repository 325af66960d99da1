/**
 * What a test Swarm (harness/swarm.ts) makes on this machine, named from the cluster's id,
 * and the script that removes all of it: pure, so the teardown is tested without a cluster.
 */

/** The cluster's names, all derived from its id so that the teardown script needs nothing else. */
export function clusterNames(id: string, nodes: number, subnet: string) {
    return {
        bridge: id,
        comment: id,
        state: `/tmp/${id}`,
        runtime: `/run/${id}`,
        nodes: Array.from({ length: nodes }, (_, i) => {
            const name = `n${i + 1}`;
            return {
                name,
                namespace: `${id}-${name}`,
                hostVeth: `${id}${name}`,
                peerVeth: `${id}p${i + 1}`,
                address: `${subnet}.${11 + i}`,
                state: `/tmp/${id}/${name}`,
                execRoot: `/run/${id}/${name}`,
                socket: `/run/${id}/${name}.sock`,
                pidfile: `/run/${id}/${name}.pid`,
                cgroupParent: `${id}-${name}`,
                hostname: `${id}-${name}`,
            };
        }),
    };
}

export type Names = ReturnType<typeof clusterNames>;

/**
 * The script that removes a cluster, idempotent and self-contained (the watchdog runs it
 * with nothing else loaded): kill each node's PID namespace, wait for its processes to be
 * gone, remove its cgroups, veth and network namespace, then the bridge, the iptables rule
 * and the folders.
 */
export function teardownScript(names: Names): string {
    const nodeList = names.nodes.map((n) => n.name).join(" ");
    return `#!/bin/bash
# Removes the nexus-redis Swarm test cluster ${names.bridge} and everything it made on this machine.
id=${names.bridge}
inits=""
for n in ${nodeList}; do
    u=$(cat /tmp/$id/$n/unshare.pid 2>/dev/null)
    [ -n "$u" ] && [ -d /proc/$u ] || continue
    i=$(cat /proc/$u/task/$u/children 2>/dev/null)
    kill -9 $i $u 2>/dev/null
    inits="$inits $i"
done
for try in $(seq 100); do
    alive=""
    for i in $inits; do [ -d /proc/$i ] && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1
done
for try in $(seq 50); do
    left=$(find /sys/fs/cgroup/*/$id-n* -depth -type d 2>/dev/null)
    [ -z "$left" ] && break
    for d in $left; do rmdir "$d" 2>/dev/null; done
    sleep 0.2
done
for n in ${nodeList}; do
    ip link del $id$n 2>/dev/null
    ip netns del $id-$n 2>/dev/null
done
ip link del $id 2>/dev/null
while iptables -C FORWARD -i $id -o $id -j ACCEPT -m comment --comment $id 2>/dev/null; do
    iptables -D FORWARD -i $id -o $id -j ACCEPT -m comment --comment $id
done
rm -rf /tmp/$id /run/$id
exit 0
`;
}
