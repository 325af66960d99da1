/** The SHA-256 the program and the CLI hash ACL passwords with (components/sha256.ts), against node:crypto's. */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../components/sha256";

const nodeSha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("sha256Hex", () => {
    it.each([
        ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
        ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
        ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
    ])("gives FIPS 180-4's value for %j", (text, expected) => {
        expect(sha256Hex(text)).toBe(expected);
    });

    it("equals node:crypto's at every length around the block boundaries (55, 56, 63, 64, 119, 120...)", () => {
        for (let length = 0; length <= 200; length++) {
            const text = "p".repeat(length);
            expect(sha256Hex(text), `length ${length}`).toBe(nodeSha256(text));
        }
    });

    it("hashes the UTF-8 bytes, as Redis does", () => {
        for (const text of ["mot de passe é", "пароль", "密码🔑", "\u0000\u007f\u0080"]) expect(sha256Hex(text)).toBe(nodeSha256(text));
    });

    it("equals node:crypto's for a thousand random passwords", () => {
        for (let i = 0; i < 1000; i++) {
            const text = randomBytes(1 + (i % 97)).toString(i % 2 === 0 ? "base64" : "latin1");
            expect(sha256Hex(text)).toBe(nodeSha256(text));
        }
    });
});
