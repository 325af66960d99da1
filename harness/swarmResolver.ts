/**
 * The test Swarm's DNS resolver (each node engine's --dns): this process, on the cluster's
 * bridge, answering NXDOMAIN to every query at once.
 */
import { type Socket as UdpSocket, createSocket } from "node:dgram";

/**
 * The answer a resolver gives for a name it does not know (NXDOMAIN), for any query: the
 * question echoed, no records. Swarm's embedded DNS forwards every name it does not know
 * (a service with no running task) to the node's resolvers; here none would answer, each
 * lookup would wait out the resolver's 5 s timeout, and Redis resolves its master's name on
 * its main thread: a replica whose vault is down would stall on every reconnect.
 */
export function nxdomain(query: Buffer): Buffer | undefined {
    if (query.length < 12) return undefined;
    let end = 12;
    while (end < query.length && query[end] !== 0) end += query[end] + 1;
    end += 5; // the root label, QTYPE and QCLASS
    if (end > query.length) return undefined;
    const answer = Buffer.from(query.subarray(0, end));
    answer[2] = 0x80 | (query[2] & 0x01); // a response; RD as asked
    answer[3] = 0x80 | 0x03; // RA, NXDOMAIN
    answer.writeUInt16BE(1, 4); // one question
    answer.fill(0, 6, 12); // no answer, authority or additional records
    return answer;
}

/** Answers every query on `address`:53 with NXDOMAIN; unref'd, closed by the caller. */
export async function startResolver(address: string): Promise<UdpSocket> {
    const resolver = createSocket("udp4");
    resolver.on("message", (query, peer) => {
        const answer = nxdomain(query);
        if (answer) resolver.send(answer, peer.port, peer.address);
    });
    resolver.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
        resolver.once("error", reject);
        resolver.bind(53, address, () => resolve());
    });
    resolver.unref();
    return resolver;
}
