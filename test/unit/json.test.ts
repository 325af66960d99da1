/**
 * cli/core/json.ts: where a text stops being JSON, by line and column, never quoting the text,
 * which may hold a password someone forgot to quote (V8's own message quotes the text around
 * the bad token).
 */
import { describe, expect, it } from "vitest";
import { JsonSyntaxError, parseJson } from "../../cli/core/json";
import { parseOutputs } from "../../cli/fleet/outputs";
import { parseManifest } from "../../cli/snapshot/manifest";

const PASSWORD = "SuperSecretPw-LEAK123";

function failure(text: string): JsonSyntaxError {
    try {
        parseJson(text);
    } catch (e) {
        if (e instanceof JsonSyntaxError) return e;
        throw e;
    }
    throw new Error(`parsed: ${text}`);
}

describe("parseJson", () => {
    it("parses JSON as JSON.parse does", () => {
        expect(parseJson('{"a": [1, "x", null]}')).toEqual({ a: [1, "x", null] });
    });

    it.each([
        ["a bad token", `{"password":${PASSWORD}}`, 1, 13, false],
        ["a bad token on a later line", `{\n  "kb": {\n    "password": '${PASSWORD}'\n  }\n}`, 3, 17, false],
        ["a missing comma", '{"a": 1 "b": 2}', 1, 9, false],
        ["text after the document", '{"a": 1}x', 1, 9, false],
        ["a control character in a string", '{"a": "x\ty"}', 1, 9, false],
        ["a file cut short", '{"a": {"b": "pass', 1, 18, true],
        ["an empty file", "", 1, 1, true],
    ])("says where %s is", (_, text, line, column, truncated) => {
        expect(failure(text)).toMatchObject({ line, column, truncated });
    });

    it("never quotes the text, not even the bad character", () => {
        const e = failure(`{"environments": {"kb": {"vault": {"password":${PASSWORD}}}}}`);
        expect(e.message).toBe("it stops being JSON at line 1, column 47 (the text is not shown: it may hold a password)");
    });
});

describe("a password someone forgot to quote", () => {
    const outputs = `{"environments": {"kb": {"kind": "secure", "vault": {"container": "c", "host": "h", "port": 1, "password": ${PASSWORD}}}}}`;

    it("is not in the outputs' error", () => {
        expect(() => parseOutputs(outputs, "outputs.json")).toThrow(
            /^outputs\.json is not JSON: it stops being JSON at line 1, column 108/,
        );
        expect(() => parseOutputs(outputs, "outputs.json")).not.toThrow(/Super|LEAK/);
    });

    it("is not in a manifest's error", () => {
        expect(() => parseManifest(`{"keys": ${PASSWORD}}`, "x.json")).toThrow(
            /^x\.json is not JSON: it stops being JSON at line 1, column 10/,
        );
        expect(() => parseManifest(`{"keys": ${PASSWORD}}`, "x.json")).not.toThrow(/Super|LEAK/);
    });
});
