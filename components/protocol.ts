/**
 * The Redis Environment Protocol's table of environments: the single source of truth
 * for the Pulumi program, the offline plan, the operator CLI and the tests.
 *
 * The protocol says "vault even, operational odd", but four rows of its own table
 * (workflow, kb, links, session) break that. The table is authoritative; what holds
 * for every row is operational = vault + 1, and nothing here relies on parity.
 */

export type EnvironmentKind = "standard" | "secure";

/** One environment: a vault, plus an operational replica for standard environments. */
export interface EnvironmentDefinition {
    /** Environment name, used in container and volume names (`nexus3-{name}-vault`). */
    readonly name: string;
    /** "standard" (vault + operational replica) or "secure" (vault alone). */
    readonly kind: EnvironmentKind;
    /** Host port of the vault. */
    readonly vaultPort: number;
    /** Host port of the operational replica; standard environments only. */
    readonly operationalPort?: number;
}

const standard = (name: string, vaultPort: number, operationalPort: number): EnvironmentDefinition => ({
    name,
    kind: "standard",
    vaultPort,
    operationalPort,
});
const secure = (name: string, vaultPort: number): EnvironmentDefinition => ({ name, kind: "secure", vaultPort });

/** Every environment of the protocol, in the protocol's order. */
export const PROTOCOL_ENVIRONMENTS: readonly EnvironmentDefinition[] = Object.freeze([
    standard("workflow", 6615, 6616),
    standard("context", 6620, 6621),
    standard("kb", 6625, 6626),
    standard("contact", 6630, 6631),
    standard("links", 6635, 6636),
    standard("track", 6640, 6641),
    standard("session", 6645, 6646),
    standard("transcripts", 6660, 6661),
    standard("web", 6670, 6671),
    standard("chrono", 6680, 6681),
    secure("user", 6610),
    secure("locker", 6720),
]);

/** The protocol's shared Docker network. */
export const PROTOCOL_NETWORK = "nexus-storage-network";

/** The protocol's container name prefix (`nexus3-contact-vault`). */
export const PROTOCOL_CONTAINER_PREFIX = "nexus3";

/** Redis listens on this port inside every container; replicas reach their vault on it. */
export const REDIS_INTERNAL_PORT = 6379;

/**
 * The names the stack accepts for an environment (config/environments.ts), and so the only ones
 * its outputs hold. They become part of container names, output keys, Prometheus labels and the
 * backup's folders (`--to/NAME/`), so the CLI refuses any other in outputs given by hand.
 */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Looks an environment of the protocol up by name. */
export function findProtocolEnvironment(name: string): EnvironmentDefinition | undefined {
    return PROTOCOL_ENVIRONMENTS.find((e) => e.name === name);
}
