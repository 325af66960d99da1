/**
 * The Engine API ServiceSpec the Docker provider sends for a planned docker.Service
 * (kreuzwerker/terraform-provider-docker v4.5.0 resource_docker_service_structures.go
 * `createServiceSpec`), built from the plan's inputs. An input it does not know is refused, so
 * the Swarm harness (harness/swarmProvider.ts) always runs what the program declares.
 */
import type { StateResource } from "../plan/engine";
import { parseGoDuration } from "../plan/engineModel";
import { labelsOf } from "./dockerProvider";
import { UnsupportedPlanError } from "./engineApply";

export type Labels = Record<string, string>;

/** The manager's ID of a network, secret or config the plan names by its state ID (`what` says who asks). */
export type RealId = (planId: string, what: string) => string;

export function refuseUnknown(what: string, inputs: object | undefined, known: string[]): void {
    const unknown = Object.keys(inputs ?? {}).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new UnsupportedPlanError(`${what}: the Swarm harness does not understand input(s) ${unknown.join(", ")}`);
}

/** A Go duration as the provider parses it ("60s", "2s", "1m30s") in nanoseconds. */
export function durationNs(text: string): number {
    try {
        return parseGoDuration(text);
    } catch {
        throw new UnsupportedPlanError(`"${text}" is not a duration`);
    }
}

/** The provider's update/rollback config, with the defaults its schema gives every unset field. */
function updateConfig(what: string, c: Record<string, any> | undefined): Record<string, unknown> {
    refuseUnknown(what, c, ["parallelism", "delay", "failureAction", "monitor", "maxFailureRatio", "order"]);
    return {
        Parallelism: c?.parallelism ?? 1,
        Delay: durationNs(c?.delay ?? "0s"),
        FailureAction: c?.failureAction ?? "pause",
        Monitor: durationNs(c?.monitor ?? "5s"),
        MaxFailureRatio: Number(c?.maxFailureRatio ?? "0.0"),
        Order: c?.order ?? "stop-first",
    };
}

/** The ServiceSpec of a planned docker.Service; every input is checked before any is used. */
export function serviceSpec(r: StateResource, realId: RealId, runLabel: Labels): Record<string, unknown> {
    const i = r.inputs as Record<string, any>;
    refuseUnknown(r.name, i, ["name", "labels", "mode", "taskSpec", "updateConfig", "rollbackConfig", "endpointSpec"]);
    refuseUnknown(`${r.name}.mode`, i.mode, ["replicated"]);
    const t = i.taskSpec ?? {};
    refuseUnknown(`${r.name}.taskSpec`, t, ["containerSpec", "networksAdvanceds", "placement", "restartPolicy", "resources"]);
    const c = t.containerSpec ?? {};
    refuseUnknown(`${r.name}.containerSpec`, c, [
        "image",
        "args",
        "commands",
        "env",
        "labels",
        "mounts",
        "secrets",
        "configs",
        "stopGracePeriod",
    ]);
    const mounts = (c.mounts ?? []).map((m: Record<string, any>) => mount(r.name, m));
    refuseUnknown(`${r.name}.placement`, t.placement ?? {}, ["constraints"]);
    refuseUnknown(`${r.name}.restartPolicy`, t.restartPolicy, ["condition", "delay", "maxAttempts", "window"]);
    refuseUnknown(`${r.name}.resources`, t.resources, ["limits"]);
    refuseUnknown(`${r.name}.resources.limits`, t.resources?.limits, ["memoryBytes"]);
    const e = i.endpointSpec ?? {};
    refuseUnknown(`${r.name}.endpointSpec`, e, ["mode", "ports"]);
    for (const n of t.networksAdvanceds ?? []) refuseUnknown(`${r.name} network`, n, ["id", "name", "aliases"]);
    return {
        Name: i.name,
        Labels: labelsOf(i.labels, runLabel),
        Mode: { Replicated: { Replicas: i.mode?.replicated?.replicas ?? 1 } },
        TaskTemplate: taskTemplate(r.name, t, mounts, realId, runLabel),
        UpdateConfig: updateConfig(`${r.name}.updateConfig`, i.updateConfig),
        RollbackConfig: updateConfig(`${r.name}.rollbackConfig`, i.rollbackConfig),
        EndpointSpec: endpointSpec(r.name, e),
    };
}

function mount(name: string, m: Record<string, any>): Record<string, unknown> {
    refuseUnknown(`${name} mount`, m, ["type", "source", "target", "readOnly", "volumeOptions", "tmpfsOptions"]);
    refuseUnknown(`${name} volumeOptions`, m.volumeOptions, ["labels", "noCopy"]);
    refuseUnknown(`${name} tmpfsOptions`, m.tmpfsOptions, ["sizeBytes", "mode"]);
    return {
        Type: m.type,
        Source: m.source ?? "",
        Target: m.target,
        ReadOnly: m.readOnly === true,
        ...(m.volumeOptions
            ? { VolumeOptions: { NoCopy: m.volumeOptions.noCopy === true, Labels: labelsOf(m.volumeOptions.labels, {}) } }
            : {}),
        ...(m.tmpfsOptions ? { TmpfsOptions: { SizeBytes: m.tmpfsOptions.sizeBytes, Mode: m.tmpfsOptions.mode } } : {}),
    };
}

/** A secret or config the container mounts, by the manager's ID of the object. */
function fileReference(what: string, f: Record<string, any>, idKey: string, nameKey: string, realId: RealId): Record<string, unknown> {
    refuseUnknown(what, f, [idKey, nameKey, "fileName", "fileUid", "fileGid", "fileMode"]);
    return {
        File: { Name: f.fileName, UID: f.fileUid ?? "0", GID: f.fileGid ?? "0", Mode: f.fileMode ?? 0o444 },
        [idKey === "secretId" ? "SecretID" : "ConfigID"]: realId(f[idKey], what),
        [idKey === "secretId" ? "SecretName" : "ConfigName"]: f[nameKey],
    };
}

function taskTemplate(name: string, t: Record<string, any>, mounts: unknown[], realId: RealId, runLabel: Labels): Record<string, unknown> {
    const c = t.containerSpec ?? {};
    return {
        ContainerSpec: {
            Image: c.image,
            ...(c.commands ? { Command: c.commands } : {}),
            ...(c.args ? { Args: c.args } : {}),
            ...(c.env ? { Env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`) } : {}),
            Labels: labelsOf(c.labels, runLabel),
            Mounts: mounts,
            Secrets: (c.secrets ?? []).map((s: Record<string, any>) =>
                fileReference(`${name} secret`, s, "secretId", "secretName", realId),
            ),
            Configs: (c.configs ?? []).map((s: Record<string, any>) =>
                fileReference(`${name} config`, s, "configId", "configName", realId),
            ),
            ...(c.stopGracePeriod ? { StopGracePeriod: durationNs(c.stopGracePeriod) } : {}),
        },
        // createServiceAdvancedNetworks: the ID, else the name (deprecated), as the target.
        Networks: (t.networksAdvanceds ?? []).map((n: Record<string, any>) => {
            if (!n.id && !n.name) throw new UnsupportedPlanError(`${name}: network 'name' or 'id' must be specified`);
            return { Target: n.id ? realId(n.id, `${name} network`) : n.name, Aliases: n.aliases ?? [] };
        }),
        Placement: { Constraints: t.placement?.constraints ?? [] },
        ...(t.restartPolicy
            ? {
                  RestartPolicy: {
                      Condition: t.restartPolicy.condition,
                      ...(t.restartPolicy.delay ? { Delay: durationNs(t.restartPolicy.delay) } : {}),
                      ...(t.restartPolicy.window ? { Window: durationNs(t.restartPolicy.window) } : {}),
                  },
              }
            : {}),
        ...(t.resources?.limits ? { Resources: { Limits: { MemoryBytes: t.resources.limits.memoryBytes } } } : {}),
    };
}

function endpointSpec(name: string, e: Record<string, any>): Record<string, unknown> {
    return {
        Mode: e.mode ?? "vip",
        Ports: (e.ports ?? []).map((p: Record<string, any>) => {
            refuseUnknown(`${name} port`, p, ["targetPort", "publishedPort", "publishMode", "protocol", "name"]);
            return {
                Protocol: p.protocol ?? "tcp",
                TargetPort: p.targetPort,
                PublishedPort: p.publishedPort,
                PublishMode: p.publishMode ?? "ingress",
            };
        }),
    };
}
