/**
 * `nexus-redis adopt`: what a person does when a vault cannot be taken over where it is: its
 * data moved out of the container's writable layer, its published ports and addresses kept by
 * the stack's configuration.
 */
import { REDIS_UID, type Role } from "../../components/redisServer";
import { type ContainerFacts, type Findings, bindingAddress } from "./findings";
import type { StackView } from "./stack";

/**
 * The commands that move a vault's data out of its container's writable layer into a host
 * folder, as a person runs them. The snapshot is taken by hand (`SAVE`): a vault with save
 * points off writes nothing as it stops. Writes wait (`CLIENT PAUSE ... WRITE`) from just
 * before the snapshot until the stop, so none is acknowledged and then left behind. The
 * password is read from the terminal into REDISCLI_AUTH, which `docker exec -e` passes on by
 * name: never on a command line.
 */
export function moveToFolder(container: string, dir: string, dbfilename: string): string {
    const folder = `/srv/${container}-data`;
    const cli = `docker exec -e REDISCLI_AUTH ${container} redis-cli`;
    return [
        "Move it to a host folder first (the snapshot is taken by hand: with save points off, Redis writes nothing as it stops):",
        "read -rs REDISCLI_AUTH && export REDISCLI_AUTH   # the vault's password, typed: never on a command line",
        `${cli} CLIENT PAUSE 600000 WRITE   # writes wait until the stop instead of being lost`,
        `${cli} SAVE`,
        `${cli} INFO persistence | grep rdb_last_bgsave_status   # must say ok`,
        `docker stop -t 300 ${container}`,
        `mkdir -p ${folder} && docker cp ${container}:${dir}/. ${folder}/ && ls -l ${folder}/${dbfilename}`,
        `chown -R ${REDIS_UID}:${REDIS_UID} ${folder}   # docker cp made root the owner; Redis runs as the image's redis user`,
        `docker rename ${container} ${container}.old`,
        `then docker run it again as before, with -v ${folder}:${dir} added, and adopt`,
    ].join("\n");
}

/** The published ports and addresses against what the stack would publish; undefined when they agree. */
export function portsProblem(f: Findings, view: StackView): string | undefined {
    const c = f.candidate;
    const found: string[] = [];
    const wanted: string[] = [];
    let portsDiffer = false;
    let addressDiffers = false;
    const roles: [Role, ContainerFacts | undefined, number | undefined][] = [
        ["vault", f.vault, c.vaultPort],
        ["operational", f.operational, c.operationalPort],
    ];
    const seen: Record<string, number | undefined> = {};
    for (const [role, container, port] of roles) {
        if (!container || container.bindings.length === 0 || port === undefined) continue;
        const ports = new Set(container.bindings.map((b) => b.hostPort));
        const addresses = new Set(container.bindings.map(bindingAddress));
        const allAddresses = [...addresses].every((a) => a === "0.0.0.0" || a === "::");
        const sameAddress = addresses.size === 1 ? [...addresses][0] === view.bindAddress : allAddresses && view.bindAddress === "0.0.0.0";
        seen[role] = ports.size === 1 ? [...ports][0] : undefined;
        if (ports.size !== 1 || !ports.has(port)) portsDiffer = true;
        if (!sameAddress) addressDiffers = true;
        if (ports.size !== 1 || !ports.has(port) || !sameAddress) {
            found.push(`${role} publishes ${container.bindings.map((b) => `${bindingAddress(b)}:${b.hostPort}`).join(" and ")}`);
            wanted.push(`${view.bindAddress}:${port}`);
        }
    }
    if (!portsDiffer && !addressDiffers) return undefined;
    const keep: string[] = [];
    if (portsDiffer) {
        const vault = (seen.vault ?? c.vaultPort) - view.portOffset;
        const item =
            c.kind === "standard"
                ? `${c.name}=${vault}/${(seen.operational ?? c.operationalPort ?? 0) - view.portOffset}`
                : `${c.name}=${vault}`;
        const index = c.item === undefined ? view.environments.length : view.environments.indexOf(c.item);
        keep.push(
            `The environments item ${item} keeps the ports${view.portOffset === 0 ? "" : ` (portOffset ${view.portOffset} is added to it)`}: pulumi config set --path 'environments[${index}]' ${item}`,
        );
    }
    if (addressDiffers) {
        const addresses = [...new Set([f.vault, f.operational].flatMap((x) => x?.bindings.map(bindingAddress) ?? []))];
        keep.push(
            addresses.length === 1
                ? `${portsDiffer ? "b" : "B"}indAddress ${addresses[0]} keeps the address: pulumi config set bindAddress ${addresses[0]}${addresses[0] === "0.0.0.0" ? " (every interface: the operational reads without a password)" : ""}`
                : `no single bindAddress publishes on ${addresses.join(" and ")}`,
        );
    }
    return `${c.name}'s ${found.join(", its ")}, where the stack would publish ${wanted.join(" and ")}: clients would not find them. ${keep.join("; ")}; then run adopt again (it keeps that configuration)`;
}
