/**
 * Free loopback ports for the harness's fleets and containers: the one way the live tests
 * and the benchmarks find them. A port is free when this process can bind it on 127.0.0.1
 * (where the plan publishes), checked just before it is used.
 *
 * The two users get ranges that do not meet, so a test run and a benchmark run on the same
 * engine (other engineers share it) never choose the same port between the check and the
 * moment a container binds it.
 */
import * as net from "node:net";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";

export interface PortRange {
    first: number;
    last: number;
}

/** The live tests' fleets. */
export const TEST_PORTS: PortRange = { first: 26_000, last: 56_999 };

/**
 * The benchmarks' ports: above the kernel's ephemeral range (32768-60999 by default) and
 * above TEST_PORTS, so an outgoing connection or a test run starting meanwhile cannot take
 * one between the moment it is chosen and the moment a container binds it.
 */
export const BENCH_PORTS: PortRange = { first: 61_000, last: 65_535 };

/** Whether `port` can be bound on loopback now. */
export function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/** The protocol table's host ports of `environments` (before any offset). */
export function tablePorts(environments: string[]): number[] {
    return PROTOCOL_ENVIRONMENTS.filter((e) => environments.includes(e.name)).flatMap((e) =>
        e.operationalPort === undefined ? [e.vaultPort] : [e.vaultPort, e.operationalPort],
    );
}

/** A `portOffset` that puts every table port of `environments` inside `range`, on free loopback ports. */
export async function freePortOffset(environments: string[], range: PortRange): Promise<number> {
    const ports = tablePorts(environments);
    if (ports.length === 0) throw new Error(`no port of the protocol table belongs to ${environments.join(", ") || "no environment"}`);
    const lowest = range.first - Math.min(...ports);
    const highest = range.last - Math.max(...ports);
    if (highest < lowest) throw new Error(`the ports of ${environments.join(", ")} do not fit in ${range.first}-${range.last}`);
    for (let attempt = 0; attempt < 50; attempt++) {
        const offset = lowest + Math.floor(Math.random() * (highest - lowest + 1));
        if ((await Promise.all(ports.map((p) => portFree(p + offset)))).every(Boolean)) return offset;
    }
    throw new Error(`no free range of loopback ports in ${range.first}-${range.last} for ${environments.join(", ")}`);
}

/** `count` free loopback ports in `range`, none of them in `taken`. */
export async function freePorts(count: number, range: PortRange, taken: number[] = []): Promise<number[]> {
    const ports: number[] = [];
    const size = range.last - range.first + 1;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size && ports.length < count; i++) {
        const port = range.first + ((start + i) % size);
        if (!taken.includes(port) && (await portFree(port))) ports.push(port);
    }
    if (ports.length < count) throw new Error(`only ${ports.length} free loopback ports in ${range.first}-${range.last}`);
    return ports;
}

/** A free loopback port chosen by the kernel, for a port nothing will listen on. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

/** What a connection to `host:port` comes to now: "open", or the connect error's code ("ECONNREFUSED"...). */
export function connectOutcome(host: string, port: number): Promise<string> {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        socket.once("connect", () => {
            socket.destroy();
            resolve("open");
        });
        socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
}
