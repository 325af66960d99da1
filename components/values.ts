/**
 * A value that failed validation, in words, for error messages that name the key and what it
 * held: shared by the stack's config (config.ts) and the operator CLI's stack outputs.
 */

/** What kind of value this is, never the value itself (it may be a password): "a number", "an empty string". */
export function kindOf(value: unknown): string {
    if (value === undefined) return "nothing (the key is missing)";
    if (value === null) return "null";
    if (Array.isArray(value)) return "an array";
    if (value === "") return "an empty string";
    switch (typeof value) {
        case "string":
            return "a string";
        case "number":
            return "a number";
        case "boolean":
            return "a boolean";
        case "object":
            return "an object";
        default:
            return `a value of type ${typeof value}`;
    }
}

/** The value itself when it is a plain string, number or boolean (never use it for a secret), else its kind. */
export function describeValue(value: unknown): string {
    if ((typeof value === "string" && value !== "") || typeof value === "number" || typeof value === "boolean")
        return JSON.stringify(value);
    return kindOf(value);
}
