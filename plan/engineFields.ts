/**
 * The shapes of the engine model (plan/engineModel.ts) and the helper its tables are written
 * with: per field, whether a change replaces or updates, and what the provider's Read stores.
 */
/** How Read stores a field the program sent. */
export type ReadForm =
    /** Read sets it from what Docker reports, which is the value as sent. */
    | "sent"
    /** Read does not set it: the state keeps the value as sent. */
    | "kept"
    /** Go's `time.Duration.String()` with `shortDur`'s trims: "60s" is stored as "1m". */
    | "goDuration"
    /** Swarm networks: only `{ id }`, a name resolved to the network's ID. */
    | "networkIds";

export type FieldType = "string" | "int" | "bool" | "list" | "set" | "map" | "block";

export interface FieldModel {
    type: FieldType;
    /** A change replaces the resource (the provider's ForceNew / RequiresReplace). */
    forceNew: boolean;
    /** Optional and computed in the schema: left out, what is stored stands. */
    computed?: boolean;
    /** The schema's default, sent (and read back) when the program leaves the field out. */
    default?: unknown;
    /** What Read stores when the program leaves the field out and the schema has no default. */
    readWhenAbsent?: unknown;
    read: ReadForm;
    /** A block's fields, or the fields of each element of a list or set of blocks. */
    fields?: Record<string, FieldModel>;
    /** Upstream file and function. */
    source: string;
}

export interface ResourceModel {
    /** A component: no provider, nothing stored, never replaced for a property. */
    component?: true;
    /** The provider asks for delete-before-replace itself. */
    deleteBeforeReplace?: boolean;
    fields: Record<string, FieldModel>;
    source: string;
}

/** An image platform, as a registry reports it. */
export interface Platform {
    architecture: string;
    os: string;
}

/** One field of a table: its type, whether a change replaces the resource, how Read stores it, and where upstream says so. */
export function field(
    type: FieldType,
    change: "replace" | "update",
    read: ReadForm,
    source: string,
    more: Partial<FieldModel> = {},
): FieldModel {
    return { type, forceNew: change === "replace", read, source, ...more };
}

/** A set of `{ label, value }`: labelSchema (a set), read back by mapToLabelSet where read at all. */
export const labelFields = (change: "replace" | "update", read: ReadForm, source: string) =>
    field("set", change, read, source, {
        fields: {
            label: field("string", change, read, `${source}; labelSchema`),
            value: field("string", change, read, `${source}; labelSchema`),
        },
    });
