/** `tls` and `encryptedOverlay`: encryption of the fleet's traffic, each tied to the platform. */
import type { Platform } from "../components/environmentArgs";
import type { RawConfig, Report } from "./types";
import { parseBoolean } from "./values";

/** The values `tls` takes: `auto` is on for swarm (traffic crosses hosts), off for docker (one host's bridge). */
export const TLS_VALUES = ["auto", "true", "false"] as const;

/** `tls` and `encryptedOverlay`, each with the rules that tie it to the platform. */
export function parseTls(
    raw: RawConfig,
    platform: Platform,
    createNetwork: boolean,
    vaultData: Record<string, string>,
    problem: Report,
): { tls: boolean; encryptedOverlay: boolean } {
    const tlsText = (raw.tls ?? "auto").trim();
    let tls = platform === "swarm";
    if (tlsText === "true") tls = true;
    else if (tlsText === "false") tls = false;
    else if (tlsText !== "auto") problem("tls", `"${tlsText}" is not one of ${TLS_VALUES.join(", ")} (auto: on for swarm, off for docker)`);
    if (tls && Object.keys(vaultData).length > 0) {
        // An adopted fleet's clients speak plain TCP today: turning TLS on as it is adopted would
        // cut every one of them off at the first `pulumi up`. Adopt first, then turn TLS on.
        problem(
            "tls",
            `is on while vaultData adopts existing vaults (${Object.keys(vaultData).join(", ")}): adopt with tls false first, move the clients to TLS, then set tls true`,
        );
    }
    const encryptedOverlay = parseBoolean(raw.encryptedOverlay ?? "false", "encryptedOverlay", raw, problem);
    if (encryptedOverlay && platform !== "swarm") {
        problem(
            "encryptedOverlay",
            'applies to platform swarm only (an overlay network); set platform to "swarm" or unset encryptedOverlay',
        );
    } else if (encryptedOverlay && !createNetwork) {
        problem(
            "encryptedOverlay",
            "needs createNetwork true: the stack can only choose the options of a network it creates (an existing network keeps its own)",
        );
    }
    return { tls, encryptedOverlay };
}
