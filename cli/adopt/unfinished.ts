/**
 * `nexus-redis adopt`, after an adopt that did not finish (its process killed, its machine
 * stopped): adopt keeps its journal in memory only, so the next run cannot tell how far the
 * last one got (the stack's configuration changed or undone, the new vault serving writes or
 * never started). What it finds instead are the old containers renamed aside
 * (`NAME.adopted-TIME`): while they exist, the environment is refused, and the refusal gives
 * the whole way back by hand, each step safe however far that run got, the data folder readied
 * by the old vault's own Redis before the old vault starts (its AOF is the newest state).
 * Pure, like adopt/rollback.ts, whose by-hand steps it reuses.
 */
import { containerName, DATA_DIR } from "../../components/redisServer";
import type { Findings } from "./findings";
import type { EnvironmentPlan } from "./judge";
import { type Journal, rollbackText } from "./rollback";
import type { StackView } from "./stack";

/** The environment refused, with the way back, when an adopt of it left its old containers aside; undefined when none did. */
export function unfinishedPlan(f: Findings, view: StackView, stack: string | undefined): EnvironmentPlan | undefined {
    const left = f.leftovers;
    if (!left || left.aside.length === 0) return undefined;
    const { name, kind } = f.candidate;
    const vaultName = containerName(view.containerPrefix, name, "vault");
    const operationalName = containerName(view.containerPrefix, name, "operational");
    const oldVault = left.aside.find((a) => a.from === vaultName)?.container;
    const arg = (flag: string) => {
        const i = oldVault?.command.lastIndexOf(flag) ?? -1;
        return i >= 0 ? oldVault?.command[i + 1] : undefined;
    };
    const networks = Object.keys(oldVault?.networks ?? {});
    const operationalStopped = f.operational !== undefined && !f.operational.managed && f.operational.state !== "running";
    const item = f.candidate.item ?? name;
    const s = stack ? ` --stack ${stack}` : "";
    const asideNames = left.aside.map((a) => a.container.name);
    const readying = left.readying.map(
        (r) =>
            `${r.name}, that run's readying server on the old vault's volumes, ${r.removed ? "was removed" : "is removed when adopt runs without --dry-run"}`,
    );
    const journal: Journal = {
        environment: name,
        steps: [],
        stepsDone: 0,
        environmentsBefore: [],
        item,
        // A container is set aside only after AOF was on and rewritten, and after its stop.
        aofEnabled: true,
        savePointsSet: false,
        // An operational still under its own name, stopped: killed between the two renames.
        stopped: [...left.aside.map((a) => a.from), ...(operationalStopped ? [operationalName] : [])],
        renamed: left.aside.map((a) => [a.from, a.container.name]),
        applyStarted: false,
        newVaultAnswered: false,
        files: {
            dir: arg("--dir") ?? DATA_DIR,
            dbfilename: "dump.rdb",
            appendfilename: "appendonly.aof",
            databases: arg("--databases") ?? "16",
        },
        // The protocol's step 2: the operational replicates from the vault's address on the network
        // (a masterHost equal to vaultIp makes rollbackText read that address with docker inspect).
        ...((operationalStopped || left.aside.some((a) => a.from === operationalName)) && networks.length === 1
            ? { replication: { operational: operationalName, masterHost: "", vaultIp: "", masterPort: 6379, network: networks[0] } }
            : {}),
    };
    const text = [
        `${asideNames.join(" and ")} ${asideNames.length === 1 ? "is" : "are"} ${name}'s old container${asideNames.length === 1 ? "" : "s"}, set aside by an adopt that did not finish (killed, or its machine stopped)${readying.length > 0 ? `; ${readying.join("; ")}` : ""}. adopt keeps what it did in memory only, so it cannot tell how far that run got: it takes nothing over here. Put ${name} back by hand, step by step, then adopt again:`,
        ...(f.vault?.managed
            ? [`stop the stack's new ${vaultName} first (it runs on the same data folder):`, `  docker stop -t 300 ${vaultName}`]
            : []),
        `let a pulumi command adopt had started finish (a kill of adopt alone does not end it); then, if the stack's configuration still holds ${name} (pulumi config get${s} environments lists ${item}), take it out (that item; the vaultData and passwords entries adopt added for it) and remove what pulumi up made for it with pulumi up${s} (pulumi destroy${s} when no environment is left), so that the old containers can have their names back`,
        rollbackText(journal, stack),
    ].join("\n");
    return { name, kind, status: "refused", reasons: [text], notes: [] };
}
