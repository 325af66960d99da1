/**
 * `nexus-redis adopt`: the stack's configuration as adopt reads it (`pulumi config get`, else
 * Pulumi.yaml's default), and the error every adopt step ends with. Pure functions over plain
 * data, tested without Pulumi.
 */
import { CONFIG_KEYS, type ConfigKey, type RawConfig } from "../../config";
import { DEFAULT_BIND_ADDRESS } from "../../components/containerSpec";

/** An adoption that cannot go ahead, or cannot go on: exit code 1 (the fleet) or 2 (usage, configuration). */
export class AdoptError extends Error {
    constructor(
        message: string,
        readonly exitCode: 1 | 2,
    ) {
        super(message);
        this.name = "AdoptError";
    }
}

/** The stack's configuration as adopt reads it (`pulumi config get`, else Pulumi.yaml's default). */
export interface StackView {
    /** `docker` (adopt's only) or `swarm`. */
    platform: string;
    image: string;
    network: string;
    createNetwork: boolean;
    bindAddress: string;
    containerPrefix: string;
    portOffset: number;
    /** Memory limit of each container in MiB (0: none): the new vault's maxmemory is 75 % of it. */
    memoryLimitMb: number;
    /** The `environments` items as the stack holds them; [] means the whole table. */
    environments: string[];
    /** The `passwords` secret, parsed; {} when unset. */
    passwords: Record<string, Record<string, string>>;
    /** The `vaultData` value, parsed; {} when unset. */
    vaultData: Record<string, string>;
    /** Keys the stack itself sets (the others come from Pulumi.yaml's defaults): what an undo removes. */
    setInStack: ReadonlySet<ConfigKey>;
}

/** The keys adopt reads, in the order it reads them. */
export const VIEW_KEYS: readonly ConfigKey[] = CONFIG_KEYS;

/**
 * The view from raw strings: `stack` holds what `pulumi config get` printed for each key the
 * stack has, `defaults` Pulumi.yaml's default of each key. A malformed value is a
 * configuration error naming its key (exit 2); a secret's value is never echoed.
 */
export function stackView(stack: Partial<Record<ConfigKey, string>>, defaults: Partial<Record<ConfigKey, string>>): StackView {
    const problems: string[] = [];
    const raw = (key: ConfigKey): string => stack[key] ?? defaults[key] ?? "";
    const json = (key: ConfigKey, secret: boolean): unknown => {
        const text = raw(key).trim();
        if (text === "") return undefined;
        try {
            return JSON.parse(text);
        } catch {
            problems.push(`${key} is not valid JSON${secret ? "" : `: ${text}`}`);
            return undefined;
        }
    };
    const createNetwork = raw("createNetwork");
    if (createNetwork !== "true" && createNetwork !== "false") problems.push(`createNetwork is "${createNetwork}", not true or false`);
    const portOffset = raw("portOffset").trim();
    if (!/^-?\d+$/.test(portOffset)) problems.push(`portOffset is "${portOffset}", not an integer`);
    const memoryLimitMb = (raw("memoryLimitMb") || "0").trim();
    if (!/^\d+$/.test(memoryLimitMb)) problems.push(`memoryLimitMb is "${memoryLimitMb}", not a whole number`);

    const environments = json("environments", false) ?? [];
    if (!Array.isArray(environments) || environments.some((item) => typeof item !== "string"))
        problems.push("environments is not an array of strings (NAME or NAME=VAULT_PORT[/OPERATIONAL_PORT])");
    const passwords = json("passwords", true) ?? {};
    if (
        !isObject(passwords) ||
        Object.values(passwords).some((roles) => !isObject(roles) || Object.values(roles).some((p) => typeof p !== "string"))
    )
        problems.push('passwords is not {"ENV": {"ROLE": "PASSWORD"}}');
    const vaultData = json("vaultData", false) ?? {};
    if (!isObject(vaultData) || Object.values(vaultData).some((v) => typeof v !== "string"))
        problems.push('vaultData is not {"ENV": "VOLUME_NAME or /host/folder"}');
    if (problems.length > 0)
        throw new AdoptError(`the stack's configuration cannot be read:\n${problems.map((p) => `  - ${p}`).join("\n")}`, 2);
    return {
        platform: raw("platform") || "docker",
        image: raw("image"),
        network: raw("network"),
        createNetwork: createNetwork === "true",
        bindAddress: raw("bindAddress") || DEFAULT_BIND_ADDRESS,
        containerPrefix: raw("containerPrefix"),
        portOffset: Number(portOffset),
        memoryLimitMb: Number(memoryLimitMb),
        environments: environments as string[],
        passwords: passwords as Record<string, Record<string, string>>,
        vaultData: vaultData as Record<string, string>,
        setInStack: new Set(CONFIG_KEYS.filter((k) => stack[k] !== undefined)),
    };
}

/** The view as the raw strings the program reads (`config.get`), for checking it with the program's own validation. */
export function rawConfigOf(view: StackView): RawConfig {
    return {
        platform: view.platform,
        image: view.image,
        network: view.network,
        createNetwork: String(view.createNetwork),
        bindAddress: view.bindAddress,
        containerPrefix: view.containerPrefix,
        portOffset: String(view.portOffset),
        environments: JSON.stringify(view.environments),
        memoryLimitMb: String(view.memoryLimitMb),
        passwords: Object.keys(view.passwords).length === 0 ? "" : JSON.stringify(view.passwords),
        vaultData: Object.keys(view.vaultData).length === 0 ? "" : JSON.stringify(view.vaultData),
    };
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
