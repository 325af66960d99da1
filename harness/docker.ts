/**
 * The harness's Docker client: the CLI's own (cli/docker/client.ts: dockerode pinned to the API
 * version negotiated with the engine, and `exec`), so the tests drive Docker exactly as
 * `nexus-redis adopt`, `backup` and `restore` do.
 */
export {
    type Docker,
    type ExecResult,
    MAX_API_VERSION,
    apiVersion,
    connectDocker,
    containerLog,
    exec,
    imageExists,
    isNotFound,
    negotiateApiVersion,
} from "../cli/docker/client";
