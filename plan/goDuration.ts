/** Go's durations as the Docker provider parses and stores them (a Swarm service's update and rollback delays). */

const GO_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's `time.ParseDuration` for the non-negative durations the program writes, in nanoseconds. */
export function parseGoDuration(text: string): number {
    if (text === "0") return 0;
    let total = 0;
    const rest = text.replace(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g, (_, n: string, unit: string) => {
        total += Number(n) * GO_UNITS[unit];
        return "";
    });
    if (rest !== "" || text === "") throw new Error(`"${text}" is not a Go duration`);
    return Math.round(total);
}

/**
 * A duration as the provider stores it: Go's `time.Duration.String()` (the largest units first,
 * seconds with their fraction; below a second in ms, µs or ns), then `shortDur`'s cut of a
 * trailing "m0s" to "m" and "h0m" to "h" (resource_docker_service_structures.go).
 */
export function formatGoDuration(nanoseconds: number): string {
    if (nanoseconds === 0) return "0s";
    let text: string;
    if (nanoseconds < 1e9) {
        const [unit, size] = nanoseconds < 1e3 ? ["ns", 1] : nanoseconds < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
        text = `${decimal(nanoseconds, size)}${unit}`;
    } else {
        const hours = Math.floor(nanoseconds / 3600e9);
        const minutes = Math.floor((nanoseconds % 3600e9) / 60e9);
        const seconds = `${decimal(nanoseconds % 60e9, 1e9)}s`;
        text = hours > 0 ? `${hours}h${minutes}m${seconds}` : minutes > 0 ? `${minutes}m${seconds}` : seconds;
    }
    if (text.endsWith("m0s")) text = text.slice(0, -2);
    if (text.endsWith("h0m")) text = text.slice(0, -2);
    return text;
}

/** `value / size` in decimal with no trailing zeros, as Go writes a duration's fraction. */
function decimal(value: number, size: number): string {
    const whole = Math.floor(value / size);
    const fraction = String(value % size)
        .padStart(String(size).length - 1, "0")
        .replace(/0+$/, "");
    return fraction === "" ? String(whole) : `${whole}.${fraction}`;
}
