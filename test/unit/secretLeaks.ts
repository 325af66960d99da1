/**
 * Shared by secrets.test.ts and secrets-adopted.test.ts (one plan per test file: Pulumi
 * keeps its runtime in process globals).
 *
 * No password reaches the provider as a plain value: every input of every resource that
 * holds a password, or a password's SHA-256 (what the vault's config holds), must be a
 * Pulumi secret, or it would sit in plain text in the stack's state and in `pulumi preview`.
 *
 * The inputs are inspected as the SDK hands them to the engine (plan/plan.ts `rawInputs`),
 * where a secret is a wrapped envelope: a password found anywhere outside an envelope fails
 * the test, whichever input it is in (a plain `envs` entry, a label, a command). The plan's
 * display redactor plays no part here.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { isSecretEnvelope } from "../../plan/mocks";
import type { PlanRun } from "../../plan/plan";

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const BASE64 = /^[A-Za-z0-9+/]{16,}={0,2}$/;

/** A string as given and, when it is base64 (a Swarm secret's or config's data), decoded too. */
function readings(value: string): string[] {
    return BASE64.test(value) && value.length % 4 === 0 ? [value, Buffer.from(value, "base64").toString("utf8")] : [value];
}

/**
 * Paths (`uploads[0].content`) of strings outside any secret envelope that contain one of
 * `needles`, as given or base64-decoded (a password in a plain `data` would otherwise pass).
 */
export function plainOccurrences(value: unknown, needles: string[], at: string): string[] {
    if (isSecretEnvelope(value)) return [];
    if (typeof value === "string") return readings(value).some((text) => needles.some((n) => text.includes(n))) ? [at] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => plainOccurrences(v, needles, `${at}[${i}]`));
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => plainOccurrences(v, needles, at === "" ? k : `${at}.${k}`));
    }
    return [];
}

/** Every plain input, by resource name, that holds a password or its hash. */
export function leaks(run: PlanRun): string[] {
    const needles = run.secrets.flatMap((s) => [s, sha256(s)]);
    return [...run.rawInputs].flatMap(([urn, inputs]) =>
        plainOccurrences(inputs, needles, "").map((p) => `${urn.split("::").pop()}: ${p}`),
    );
}
