/**
 * Text for people, shared by every command's output: tables, durations, sizes, and commands
 * quoted for a shell. Pure.
 */
/**
 * The lines of a table for people: a header and rows of cells, each column as wide as its
 * widest cell, two spaces apart; the last column is left as long as it is.
 */
export function tableLines(header: string[], rows: string[][]): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
        cells
            .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
            .join("  ")
            .trimEnd();
    return [line(header), ...rows.map(line)];
}

/** A duration for people: "1.2 s"; "-" when there is none. */
export function seconds(ms: number | null | undefined): string {
    return ms === null || ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`;
}

/** A size for people: B, KiB or MiB with one decimal. */
export function formatBytes(bytes: number): string {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Quotes a command for a POSIX shell, so a `--dry-run` prints something to paste. */
export function shellQuote(command: string[]): string {
    return command.map((word) => (/^[A-Za-z0-9_\-./:=@%+,]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(" ");
}
