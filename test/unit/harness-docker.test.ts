import { describe, expect, it } from "vitest";
import { MAX_API_VERSION, negotiateApiVersion } from "../../harness/docker";

describe("the harness's Docker API version negotiation", () => {
    it.each([
        ["1.41", "1.45", "1.41"],
        ["1.45", "1.45", "1.45"],
        ["1.47", "1.45", "1.45"],
        ["1.9", "1.45", "1.9"],
        ["2.0", "1.45", "1.45"],
    ])("an engine with API %s, code written for %s: calls pinned to %s", (engine, max, pinned) => {
        expect(negotiateApiVersion(engine, max)).toBe(pinned);
    });

    it("asks newer engines than this code knows to behave like MAX_API_VERSION", () => {
        expect(negotiateApiVersion("1.99")).toBe(MAX_API_VERSION);
    });

    it("refuses a version it cannot read rather than guess", () => {
        expect(() => negotiateApiVersion("latest")).toThrow(/reports API version "latest"/);
    });
});
