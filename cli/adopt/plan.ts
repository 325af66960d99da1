/**
 * `nexus-redis adopt`, the plan over the whole run: the rules no single environment can judge,
 * the configuration that takes each environment over, and the exact Pulumi commands that give the
 * stack the same data and passwords. Pure functions over plain data (adopt/judge.ts judges each
 * environment, adopt.ts acts on the plan), so every command is tested without Pulumi.
 */
import { type ConfigKey, ConfigError, parseFleetConfig } from "../../config";
import type { EnvironmentPlan } from "./judge";
import { AdoptError, type StackView, rawConfigOf } from "./stack";

/**
 * Rules over the whole run: every adopted vault on one network, and that network the
 * stack's when the stack already manages containers; never shrink a stack that deploys
 * the whole table (`environments` []) to the adopted ones.
 */
export function judgeFleet(plans: EnvironmentPlan[], view: StackView, managed: string[]): EnvironmentPlan[] {
    const adopting = plans.filter((p) => p.status === "adopt");
    const refuseAll = (reason: string) => {
        for (const p of adopting) {
            p.status = "refused";
            p.reasons.push(reason);
        }
    };
    const networks = [...new Set(adopting.map((p) => p.vault?.network).filter((n): n is string => n !== undefined))];
    if (networks.length > 1)
        refuseAll(
            `the vaults are on different networks (${adopting.map((p) => `${p.name}: ${p.vault?.network}`).join(", ")}): the stack has one network; adopt each network's environments from a stack of their own (containerPrefix, network), or move them`,
        );
    else if (networks.length === 1 && managed.length > 0 && networks[0] !== view.network)
        refuseAll(
            `the vaults are on ${networks[0]}, but the stack's network is ${view.network}, where it already runs ${managed.join(", ")}: moving them is not adopt's to do`,
        );
    if (adopting.length > 0 && view.environments.length === 0 && managed.length > 0)
        refuseAll(
            `the stack's environments is [] (the whole table) and it already runs ${managed.join(", ")}: list them first (pulumi config set --path 'environments[0]' NAME, ...), or adopting would remove the rest`,
        );
    return plans;
}

// ---------------------------------------------------------------------------------------
// The stack's configuration, changed one environment at a time

/** One `pulumi config set`, with what the key held before (to undo it). */
export interface ConfigStep {
    key: string;
    value: string;
    secret: boolean;
    /** `--path`: key is a path into a structured value (`environments[3]`). */
    path: boolean;
    /** The key as the stack held it before, undefined when it did not set it. */
    before?: string;
    /** A `--path` step that created its key (the stack did not set it): undone by removing the key, not the item. */
    createsKey?: true;
}

/**
 * The configuration that takes one more environment over, as steps from `view`, and the view
 * after them. Only keys whose value changes get a step; `environments` grows by one item at
 * the end, so that a `pulumi up` touches only what has been adopted.
 */
export function configSteps(view: StackView, plan: EnvironmentPlan): { steps: ConfigStep[]; next: StackView } {
    if (
        plan.status !== "adopt" ||
        !plan.vault?.network ||
        plan.password === undefined ||
        plan.vaultData === undefined ||
        plan.item === undefined
    )
        throw new Error(`configSteps: ${plan.name} is not ready to adopt`);
    const steps: ConfigStep[] = [];
    const set = new Set(view.setInStack);
    const was = (key: ConfigKey, value: string) => (view.setInStack.has(key) ? { before: value } : {});
    let next: StackView = { ...view };
    if (view.network !== plan.vault.network) {
        steps.push({ key: "network", value: plan.vault.network, secret: false, path: false, ...was("network", view.network) });
        next = { ...next, network: plan.vault.network };
        set.add("network");
    }
    if (view.createNetwork) {
        steps.push({ key: "createNetwork", value: "false", secret: false, path: false, ...was("createNetwork", "true") });
        next = { ...next, createNetwork: false };
        set.add("createNetwork");
    }
    const roles = { ...view.passwords[plan.name], ...plan.extraPasswords, vault: plan.password };
    if (JSON.stringify(roles) !== JSON.stringify(view.passwords[plan.name])) {
        const passwords = { ...view.passwords, [plan.name]: roles };
        steps.push({
            key: "passwords",
            value: JSON.stringify(passwords),
            secret: true,
            path: false,
            ...was("passwords", JSON.stringify(view.passwords)),
        });
        next = { ...next, passwords };
        set.add("passwords");
    }
    if (view.vaultData[plan.name] !== plan.vaultData) {
        const vaultData = { ...view.vaultData, [plan.name]: plan.vaultData };
        steps.push({
            key: "vaultData",
            value: JSON.stringify(vaultData),
            secret: false,
            path: false,
            ...was("vaultData", JSON.stringify(view.vaultData)),
        });
        next = { ...next, vaultData };
        set.add("vaultData");
    }
    if (!view.environments.includes(plan.item)) {
        // Appended with --path: Pulumi.yaml declares environments an array, so a JSON string would not do.
        steps.push({
            key: `environments[${view.environments.length}]`,
            value: plan.item,
            secret: false,
            path: true,
            ...(view.setInStack.has("environments") ? {} : { createsKey: true as const }),
        });
        next = { ...next, environments: [...view.environments, plan.item] };
        set.add("environments");
    }
    next = { ...next, setInStack: set };
    // The program must accept what the stack will hold: checked with its own validation.
    try {
        parseFleetConfig(rawConfigOf(next), new Set<ConfigKey>(["passwords"]));
    } catch (e) {
        if (e instanceof ConfigError)
            throw new AdoptError(`adopting ${plan.name} would give the stack a configuration the program refuses:\n${e.message}`, 1);
        throw e;
    }
    return { steps, next };
}

/** The name an old container is kept under until the adopted one is healthy: `nexus3-contact-vault.adopted-20261201T101500Z`. */
export function asideName(name: string, at: Date): string {
    return `${name}.adopted-${at
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d+Z$/, "Z")}`;
}
