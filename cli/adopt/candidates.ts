/**
 * `nexus-redis adopt`: the environments it looks for, from the protocol's table and the stack's
 * own `environments` items, with the host ports the stack publishes each on.
 */
import { type EnvironmentKind, PROTOCOL_ENVIRONMENTS, findProtocolEnvironment } from "../../components/protocol";
import type { StackView } from "./stack";

/** One environment adopt may take over: from the protocol's table, or an item of the stack's own. */
export interface Candidate {
    name: string;
    kind: EnvironmentKind;
    /** Host ports the stack publishes it on (item or table, plus portOffset). */
    vaultPort: number;
    operationalPort?: number;
    /** The stack's `environments` item that names it, when there is one. */
    item?: string;
}

const ITEM = /^([^=]*)(?:=(\d+)(?:\/(\d+))?)?$/;

/** The environment an `environments` item names, and the ports it gives (undefined: the table's). */
export function parseItem(item: string): { name: string; vaultPort?: number; operationalPort?: number } {
    const match = ITEM.exec(item.trim());
    if (!match) return { name: item.trim() };
    return {
        name: match[1],
        ...(match[2] === undefined ? {} : { vaultPort: Number(match[2]) }),
        ...(match[3] === undefined ? {} : { operationalPort: Number(match[3]) }),
    };
}

/** Every environment adopt looks for: the protocol's table, then the stack's own additions, each once. */
export function candidates(view: StackView): Candidate[] {
    const items = new Map(view.environments.map((item) => [parseItem(item).name, item]));
    const result: Candidate[] = [];
    const add = (name: string, kind: EnvironmentKind, vaultPort: number, operationalPort: number | undefined) => {
        const item = items.get(name);
        const given = item === undefined ? undefined : parseItem(item);
        const vault = (given?.vaultPort ?? vaultPort) + view.portOffset;
        const operational = kind === "standard" ? (given?.operationalPort ?? operationalPort ?? 0) + view.portOffset : undefined;
        result.push({
            name,
            kind,
            vaultPort: vault,
            ...(operational === undefined ? {} : { operationalPort: operational }),
            ...(item ? { item } : {}),
        });
    };
    for (const e of PROTOCOL_ENVIRONMENTS) add(e.name, e.kind, e.vaultPort, e.operationalPort);
    for (const [name, item] of items) {
        if (findProtocolEnvironment(name)) continue;
        const given = parseItem(item);
        if (given.vaultPort === undefined) continue; // an unknown name: the program refuses it itself
        add(name, given.operationalPort === undefined ? "secure" : "standard", given.vaultPort, given.operationalPort);
    }
    return result;
}
