/**
 * The stack output `environments`, the operator CLI's only view of the fleet: where each
 * container is reached and with which credentials. Loaded from a file, stdin, or by running
 * `pulumi stack output --json --show-secrets`; validated as a whole before any connection
 * is made, so a typo is a configuration error naming its key, never a half-run check.
 */
import { JsonSyntaxError, parseJson } from "../core/json";
import { readFileSync } from "node:fs";
import { OutputsError } from "../core/errors";
import type { CredentialsOutput, EndpointOutput, EndpointTls, EnvironmentsOutput, PlatformOutput, VaultOutput } from "./environment";
import { describeValue, kindOf } from "../../components/values";
import { ENVIRONMENT_NAME } from "../../components/protocol";
import { PULUMI_NOT_ON_PATH, runPulumi, stackOutputCommand } from "../core/pulumi";
import type { CommandRunner } from "../core/runner";

/** What `pulumi stack output` prints for a secret without `--show-secrets`. */
export const SECRET_PLACEHOLDER = "[secret]";
/** What the offline plan prints for a value only known after deployment (`synth` in preview mode). */
export const UNKNOWN_PLACEHOLDER = "[unknown]";

const SHOW_SECRETS_HINT =
    "the outputs were printed without their secrets: pass --show-secrets (`pulumi stack output --json --show-secrets`, or `npm run --silent synth -- --show-secrets`)";

/**
 * Finds `environments` in either shape the CLI accepts: `pulumi stack output --json`
 * (`{"environments": {...}}`) or the offline plan's document (`{..., "outputs": {"environments": {...}}}`).
 */
export function parseOutputs(text: string, source: string): EnvironmentsOutput {
    let document: unknown;
    try {
        document = parseJson(text);
    } catch (e) {
        if (!(e instanceof JsonSyntaxError)) throw e;
        throw new OutputsError(`${source} is not JSON: ${e.message}; expected the output of \`pulumi stack output --json --show-secrets\``);
    }
    if (!isObject(document)) {
        throw new OutputsError(
            `${source} must hold a JSON object with an "environments" key (the output of \`pulumi stack output --json --show-secrets\`)`,
        );
    }
    let environments: unknown;
    let key: string;
    if ("environments" in document) {
        environments = document.environments;
        key = "environments";
    } else if (isObject(document.outputs) && "environments" in document.outputs) {
        environments = document.outputs.environments;
        key = "outputs.environments";
    } else {
        throw new OutputsError(
            `${source} has no "environments" key: expected {"environments": {...}} from \`pulumi stack output --json --show-secrets\` ` +
                `or {"outputs": {"environments": {...}}} from \`npm run --silent synth -- --show-secrets\``,
        );
    }
    // Pulumi marks a whole output secret when any value inside it is one.
    if (environments === SECRET_PLACEHOLDER) throw new OutputsError(`${key} is "${SECRET_PLACEHOLDER}": ${SHOW_SECRETS_HINT}`);
    // The stack's CA sits beside `environments` (the output `tls`), in either shape.
    const tls = "environments" in document ? document.tls : isObject(document.outputs) ? document.outputs.tls : undefined;
    const tlsKey = "environments" in document ? "tls" : "outputs.tls";
    return validateEnvironments(environments, key, tls, tlsKey);
}

/** The stack's CA from the output `tls`, or why it is unusable; undefined when the stack has no TLS. */
function readCa(value: unknown, key: string, problems: string[]): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (!isObject(value) || typeof value.ca !== "string" || !value.ca.includes("-----BEGIN CERTIFICATE-----")) {
        const got = isObject(value) ? value.ca : value;
        problems.push(`${key}.ca must be the stack's CA certificate (PEM), got ${typeof got === "string" ? pemKinds(got) : kindOf(got)}`);
        return undefined;
    }
    return value.ca;
}

/**
 * What a string that should be a certificate holds, by its PEM labels alone: what stands there
 * by mistake is often the CA's private key (ca.key for ca.crt), which must never reach a
 * terminal or a log. Pure.
 */
function pemKinds(text: string): string {
    const labels = [...new Set([...text.matchAll(/-----BEGIN ([A-Z0-9 ]{1,40})-----/g)].map((m) => m[1]))];
    return labels.length === 0 ? "a string that holds no PEM (not shown)" : `a PEM of ${labels.join(", ")} (not shown)`;
}

/** Validates the `environments` value; every problem is named by its key (`environments.contact.vault.port`). */
export function validateEnvironments(value: unknown, key = "environments", tlsOutput?: unknown, tlsKey = "tls"): EnvironmentsOutput {
    if (!isObject(value)) throw new OutputsError(`${key} must be an object of environments by name, got ${describeValue(value)}`);
    const problems: string[] = [];
    let secretsHidden = false;
    const result: EnvironmentsOutput = {};
    const ca = readCa(tlsOutput, tlsKey, problems);
    const read = new Reader(problems, () => (secretsHidden = true), ca, tlsKey);
    for (const [name, env] of Object.entries(value)) {
        const at = `${key}.${name}`;
        if (!ENVIRONMENT_NAME.test(name)) {
            // The name quoted alone: raw, a hand-written file's control characters would reach the terminal.
            problems.push(
                `${key}: ${JSON.stringify(name)} is not an environment name the program makes (lowercase letters, digits and -, starting with a letter, at most 32)`,
            );
            continue;
        }
        if (!isObject(env)) {
            problems.push(`${at} must be an object, got ${describeValue(env)}`);
            continue;
        }
        const kind = env.kind;
        if (kind !== "standard" && kind !== "secure") {
            problems.push(`${at}.kind must be "standard" or "secure", got ${describeValue(kind)}`);
            continue;
        }
        const vault = read.vault(env.vault, `${at}.vault`);
        const backup = read.credentials(env.backup, `${at}.backup`);
        let platform: PlatformOutput = {};
        if (env.platform !== undefined) {
            if (env.platform !== "swarm") {
                problems.push(`${at}.platform must be "swarm" or absent (docker), got ${describeValue(env.platform)}`);
            } else {
                const swarm = read.object(env.swarm, `${at}.swarm`, (o, k) => ({
                    network: read.string(o.network, `${k}.network`),
                    image: read.string(o.image, `${k}.image`),
                    vaultNode: read.string(o.vaultNode, `${k}.vaultNode`),
                }));
                if (swarm) platform = { platform: "swarm", swarm };
            }
        }
        if (kind === "secure") {
            if (vault && backup) result[name] = { kind, ...platform, vault, backup };
            continue;
        }
        const replication = read.credentials(env.replication, `${at}.replication`);
        const operational = read.object(env.operational, `${at}.operational`, (o, k) => ({
            ...read.endpoint(o, k),
            adminUser: read.string(o.adminUser, `${k}.adminUser`),
            adminPassword: read.secret(o.adminPassword, `${k}.adminPassword`),
        }));
        if (vault && replication && operational && backup) result[name] = { kind, ...platform, vault, replication, operational, backup };
    }
    if (secretsHidden) problems.push(SHOW_SECRETS_HINT);
    if (problems.length > 0) {
        throw new OutputsError(
            `invalid stack outputs (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
    }
    if (Object.keys(result).length === 0) throw new OutputsError(`${key} is empty: the stack deploys no environment`);
    return result;
}

class Reader {
    constructor(
        private readonly problems: string[],
        private readonly onHiddenSecret: () => void,
        /** The stack's CA, when its outputs have one. */
        private readonly ca: string | undefined = undefined,
        private readonly caKey = "tls",
    ) {}

    /** An endpoint's `tls`, with the stack's CA: a server name without a CA cannot be checked. */
    tls(value: unknown, key: string): { tls?: EndpointTls } {
        if (value === undefined) return {};
        const serverName = this.object(value, key, (o, k) => this.string(o.serverName, `${k}.serverName`));
        if (serverName === undefined) return {};
        if (this.ca === undefined) {
            this.problems.push(
                `${key} is set but the output ${this.caKey} (the stack's CA) is missing: pass the whole \`pulumi stack output --json --show-secrets\``,
            );
            return {};
        }
        return { tls: { serverName, ca: this.ca } };
    }

    string(value: unknown, key: string): string {
        if (value === UNKNOWN_PLACEHOLDER) {
            this.problems.push(`${key} is "${UNKNOWN_PLACEHOLDER}": the stack is not deployed yet (a preview's outputs)`);
        } else if (typeof value !== "string" || value === "") {
            this.problems.push(`${key} must be a non-empty string, got ${describeValue(value)}`);
        } else {
            return value;
        }
        return "";
    }

    secret(value: unknown, key: string): string {
        if (value === SECRET_PLACEHOLDER) {
            this.problems.push(`${key} is "${SECRET_PLACEHOLDER}"`);
            this.onHiddenSecret();
            return "";
        }
        // Never echo a password, even a malformed one.
        if (typeof value !== "string" || value === "") {
            this.problems.push(`${key} must be a non-empty string, got ${kindOf(value)}`);
            return "";
        }
        return value;
    }

    port(value: unknown, key: string): number {
        if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535) return value;
        this.problems.push(`${key} must be a port number (1-65535), got ${describeValue(value)}`);
        return 0;
    }

    endpoint(o: Record<string, unknown>, key: string): EndpointOutput {
        return {
            container: this.string(o.container, `${key}.container`),
            host: this.string(o.host, `${key}.host`),
            port: this.port(o.port, `${key}.port`),
            ...(o.publishedPort === undefined ? {} : { publishedPort: this.port(o.publishedPort, `${key}.publishedPort`) }),
            ...this.tls(o.tls, `${key}.tls`),
        };
    }

    vault(value: unknown, key: string): VaultOutput | undefined {
        return this.object(value, key, (v, k) => ({ ...this.endpoint(v, k), password: this.secret(v.password, `${k}.password`) }));
    }

    credentials(value: unknown, key: string): CredentialsOutput | undefined {
        return this.object(value, key, (c, k) => ({
            user: this.string(c.user, `${k}.user`),
            password: this.secret(c.password, `${k}.password`),
        }));
    }

    object<T>(value: unknown, key: string, build: (o: Record<string, unknown>, key: string) => T): T | undefined {
        if (value === SECRET_PLACEHOLDER) {
            this.problems.push(`${key} is "${SECRET_PLACEHOLDER}"`);
            this.onHiddenSecret();
            return undefined;
        }
        if (!isObject(value)) {
            // Its kind only: a string here could be a password put one level too high.
            this.problems.push(`${key} must be an object, got ${kindOf(value)}`);
            return undefined;
        }
        return build(value, key);
    }
}

/** Where to read the outputs from: a file, `-` for stdin, or the Pulumi CLI. */
export interface OutputsSource {
    /** `--outputs`: a file name, `-` for stdin, or undefined to ask the Pulumi CLI. */
    file?: string;
    /** `--stack`, passed to the Pulumi CLI. */
    stack?: string;
}

export interface OutputsIo {
    readStdin(): Promise<string>;
    run: CommandRunner;
    /** Folder the Pulumi CLI runs in (the project's). */
    projectDir: string;
}

export async function loadOutputs(source: OutputsSource, io: OutputsIo): Promise<EnvironmentsOutput> {
    if (source.file === "-") return parseOutputs(await io.readStdin(), "stdin");
    if (source.file !== undefined) {
        let text: string;
        try {
            text = readFileSync(source.file, "utf8");
        } catch (e) {
            throw new OutputsError(`cannot read --outputs ${source.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        return parseOutputs(text, source.file);
    }
    const command = stackOutputCommand(source.stack);
    const result = await runPulumi(
        io.run,
        io.projectDir,
        command,
        true,
        undefined,
        () =>
            new OutputsError(
                `${PULUMI_NOT_ON_PATH}: install it, or pass the outputs with --outputs FILE ` +
                    "(from `pulumi stack output --json --show-secrets > FILE` where Pulumi runs)",
            ),
    );
    if (result.exitCode !== 0) {
        throw new OutputsError(`\`${command.join(" ")}\` failed (exit ${result.exitCode}): ${result.stderr.trim() || "no message"}`);
    }
    return parseOutputs(result.stdout, `\`${command.join(" ")}\``);
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
