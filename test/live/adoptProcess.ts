/**
 * `nexus-redis adopt` in a process of its own, so that a live test can SIGKILL it mid-takeover
 * (test/live/adopt-killed.test.ts): `tsx test/live/adoptProcess.ts JSON ARGS...`, JSON being
 * `{"runId", "prefix", "portOffset", "image"}` of the stand-in stack (harness/adoption.ts) and
 * ARGS adopt's own arguments. Progress goes to stderr and the report to stdout as they are
 * written, so what was said before the kill is kept.
 */
import { connectDocker } from "../../harness/docker";
import { adoptionStack } from "../../harness/adoption";
import { main } from "../../cli/main";
import * as path from "node:path";

async function run(): Promise<number> {
    const [json, ...args] = process.argv.slice(2);
    const o = JSON.parse(json) as { runId: string; prefix: string; portOffset: number; image: string };
    const stack = adoptionStack(await connectDocker(), o);
    return main(["adopt", ...args], {
        stdout: { write: (t: string) => process.stdout.write(t) },
        stderr: { write: (t: string) => process.stderr.write(t) },
        readStdin: async () => "",
        run: stack.pulumi.runner,
        projectDir: path.resolve(__dirname, "../.."),
        env: {},
    });
}

run().then(
    (code) => process.exit(code),
    (e: Error) => {
        process.stderr.write(`${e.stack ?? e.message}\n`);
        process.exit(3);
    },
);
