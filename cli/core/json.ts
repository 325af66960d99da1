/**
 * JSON.parse for text that may hold passwords (the stack's outputs, a manifest), whose error
 * says where the text stops being JSON without quoting it. V8's own messages quote the text
 * around a bad token (`Unexpected token 'S', ..."password":SuperSecre"... is not valid JSON`),
 * which would print part of a password that someone forgot to quote.
 */

/** Why a text is not JSON, by line and column only. */
export class JsonSyntaxError extends Error {
    constructor(
        readonly line: number,
        readonly column: number,
        /** The text ends before the JSON does (a truncated file), rather than holding a bad character. */
        readonly truncated: boolean,
    ) {
        super(
            truncated
                ? `it ends at line ${line}, column ${column}, before the JSON does (cut short?)`
                : `it stops being JSON at line ${line}, column ${column} (the text is not shown: it may hold a password)`,
        );
        this.name = "JsonSyntaxError";
    }
}

/** Parses `text` as JSON, or throws a JsonSyntaxError that quotes none of it. */
export function parseJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        const offset = validPrefixLength(text);
        const before = text.slice(0, offset).split("\n");
        throw new JsonSyntaxError(before.length, before[before.length - 1].length + 1, offset === text.length);
    }
}

/**
 * How long a start of `text` is that some JSON document could begin with: the offset of the
 * first character that no JSON can have there. Whether a start is such a prefix is monotone in
 * its length, so a binary search over JSON.parse of the starts finds it, with no JSON grammar
 * written here. A start is a prefix when it parses, or when V8 stops at its very end.
 */
function validPrefixLength(text: string): number {
    const isPrefix = (length: number): boolean => {
        const start = text.slice(0, length);
        try {
            JSON.parse(start);
            return true;
        } catch (e) {
            const message = (e as Error).message;
            if (/^Unexpected end of JSON input/.test(message)) return true;
            const at = / at position (\d+)/.exec(message);
            return at !== null && Number(at[1]) >= start.length;
        }
    };
    let low = 0; // a prefix
    let high = text.length + 1; // not one (past the end)
    while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (isPrefix(middle)) low = middle;
        else high = middle;
    }
    return low;
}
