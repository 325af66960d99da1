/**
 * The harness's Docker client: the CLI's own (cli/docker.ts: dockerode pinned to the API
 * version negotiated with the engine, and `exec`), so the tests drive Docker exactly as
 * `nexus-redis backup` and `restore` do, plus what only the harness needs.
 */
import type Docker from "dockerode";
import { isNotFound } from "../cli/docker";

export {
    type Docker,
    type ExecResult,
    MAX_API_VERSION,
    apiVersion,
    connectDocker,
    exec,
    isNotFound,
    negotiateApiVersion,
} from "../cli/docker";

export async function imageExists(docker: Docker, ref: string): Promise<boolean> {
    try {
        await docker.getImage(ref).inspect();
        return true;
    } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
    }
}
