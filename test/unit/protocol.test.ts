import { describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS, findProtocolEnvironment } from "../../components/protocol";

describe("the protocol table", () => {
    it("has the ten standard and two secure environments of the protocol, with their host ports", () => {
        const rows = PROTOCOL_ENVIRONMENTS.map((e) => [e.name, e.kind, e.vaultPort, e.operationalPort]);
        expect(rows).toEqual([
            ["workflow", "standard", 6615, 6616],
            ["context", "standard", 6620, 6621],
            ["kb", "standard", 6625, 6626],
            ["contact", "standard", 6630, 6631],
            ["links", "standard", 6635, 6636],
            ["track", "standard", 6640, 6641],
            ["session", "standard", 6645, 6646],
            ["transcripts", "standard", 6660, 6661],
            ["web", "standard", 6670, 6671],
            ["chrono", "standard", 6680, 6681],
            ["user", "secure", 6610, undefined],
            ["locker", "secure", 6720, undefined],
        ]);
    });

    it.each(PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard"))("puts $name's operational on the port after its vault", (env) =>
        expect(env.operationalPort).toBe(env.vaultPort + 1),
    );

    it("uses every host port once", () => {
        const ports = PROTOCOL_ENVIRONMENTS.flatMap((e) => [e.vaultPort, e.operationalPort]).filter((p) => p !== undefined);
        expect(new Set(ports).size).toBe(ports.length);
    });

    it("finds an environment by name and nothing for an unknown one", () => {
        expect(findProtocolEnvironment("locker")).toEqual({ name: "locker", kind: "secure", vaultPort: 6720 });
        expect(findProtocolEnvironment("lockers")).toBeUndefined();
    });
});
