/**
 * scripts/test.sh (`npm test`) decides from vitest's arguments whether Docker is needed. It runs
 * here from a copy in a temp project, next to stand-ins for what it calls: the Docker and image
 * scripts, `npm` and `npx` record their calls instead of doing anything.
 */
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { bash, executable, scriptProject } from "./scriptProject";

function testCommand(args: string[]) {
    const { dir, project, bin } = scriptProject("test-sh", ["scripts/test.sh"]);
    const calls = path.join(dir, "calls");
    writeFileSync(path.join(project, "package-lock.json"), "{}\n");
    writeFileSync(path.join(project, "scripts/use-node-24.sh"), ":\n");
    const recorder = (name: string) => `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> "${calls}"\n`;
    for (const script of [
        "ensure-prometheus.sh",
        "ensure-docker.sh",
        "build-test-image.sh",
        "ensure-restic.sh",
        "ensure-tcpdump.sh",
        "ensure-disk-tools.sh",
    ])
        writeFileSync(path.join(project, "scripts", script), recorder(script));
    for (const command of ["npm", "npx"]) executable(path.join(bin, command), `${recorder(command)}mkdir -p node_modules\n`);
    const result = bash([path.join(project, "scripts/test.sh"), ...args], { bin });
    expect(result.stderr).not.toMatch(/command not found|No such file/);
    expect(result.status).toBe(0);
    return readFileSync(calls, "utf8").trimEnd().split("\n");
}

const cases = (list: string[][]) => list.map((args) => ({ args, shown: args.length ? `npm test -- ${args.join(" ")}` : "npm test" }));
const UNIT_ONLY = cases([
    ["--project", "unit"],
    ["--project=unit"],
    ["--project", "unit", "--reporter", "dot", "-t", "adopts"],
    ["--reporter=dot", "--project=unit"],
]);
const WITH_LIVE = cases([
    [],
    ["--project", "live"],
    ["--project=live"],
    ["--project", "unit", "--project", "live"],
    ["--project=unit", "--project=live"],
    ["-t", "unit"],
]);

describe("npm test", () => {
    it.each(UNIT_ONLY)(
        "installs promtool, then runs only the type check, lint, the docs' link check and unit tests, never starting Docker: $shown",
        ({ args }) => {
            expect(testCommand(args)).toEqual([
                "npm ci --no-audit --no-fund",
                "ensure-prometheus.sh ",
                "npx tsc --noEmit -p .",
                "npx biome check .",
                "npm run --silent lint:docs",
                `npx vitest run ${args.join(" ")}`,
            ]);
        },
    );

    it.each(WITH_LIVE)(
        "installs Prometheus, starts Docker, builds the test image, installs restic, tcpdump and the disk tools before the live tests: $shown",
        ({ args }) => {
            expect(testCommand(args)).toEqual([
                "npm ci --no-audit --no-fund",
                "ensure-prometheus.sh ",
                "ensure-docker.sh ",
                "build-test-image.sh ",
                "ensure-restic.sh ",
                "ensure-tcpdump.sh ",
                "ensure-disk-tools.sh ",
                "npx tsc --noEmit -p .",
                "npx biome check .",
                "npm run --silent lint:docs",
                `npx vitest run ${args.join(" ")}`.trimEnd(),
            ]);
        },
    );
});

describe("scripts/ensure-disk-tools.sh", () => {
    const TOOLS = ["truncate", "fallocate", "mkfs.ext4", "losetup", "mount", "umount", "mountpoint", "findmnt"];
    /** What is missing on the stand-ins' PATH (they come first, then /usr/bin and /bin, where Debian has some of the real ones). */
    const missingWith = (present: string[]) =>
        TOOLS.filter((t) => !present.includes(t) && !existsSync(`/usr/bin/${t}`) && !existsSync(`/bin/${t}`));

    /** Runs it with stand-ins for `present` tools and for apt-install.sh, as root or not; returns its calls and status. */
    function ensure(present: string[], uid: number) {
        const { dir, project, bin } = scriptProject("disk-tools", ["scripts/ensure-disk-tools.sh"]);
        const calls = path.join(dir, "calls");
        writeFileSync(calls, "");
        // apt "installs" every tool: stand-ins appear in bin.
        writeFileSync(
            path.join(project, "scripts/apt-install.sh"),
            `printf '%s\\n' "apt-install.sh $*" >> "${calls}"\nfor t in ${TOOLS.join(" ")}; do printf '#!/bin/sh\\n' > "${bin}/$t"; chmod +x "${bin}/$t"; done\n`,
        );
        for (const tool of present) executable(path.join(bin, tool), "#!/bin/sh\n");
        executable(path.join(bin, "id"), `#!/bin/sh\necho ${uid}\n`);
        const result = bash([path.join(project, "scripts/ensure-disk-tools.sh")], { bin });
        return { status: result.status, stderr: result.stderr, calls: readFileSync(calls, "utf8").trimEnd() };
    }

    it("changes nothing when every tool is there", () => {
        expect(ensure(TOOLS, 0)).toEqual({ status: 0, stderr: "", calls: "" });
    });

    it("installs Debian's packages with apt, as root, when a tool is missing", () => {
        const missing = missingWith(["truncate"]);
        expect(missing).toContain("mkfs.ext4");
        const run = ensure(["truncate"], 0);
        expect(run.calls).toBe("apt-install.sh e2fsprogs mount util-linux");
        expect(run.stderr).toBe(`ensure-disk-tools: ${missing.join(" ")} missing: installing e2fsprogs, mount and util-linux with apt\n`);
        expect(run.status).toBe(0);
    });

    it("refuses, naming the packages, when a tool is missing and this is not root", () => {
        const run = ensure(["truncate"], 1000);
        expect(run.calls).toBe("");
        expect(run.status).toBe(1);
        expect(run.stderr).toBe(
            `ensure-disk-tools: ${missingWith(["truncate"]).join(" ")} missing and this is not root: install Debian's e2fsprogs, mount and util-linux first\n`,
        );
    });
});

describe("scripts/ensure-tcpdump.sh", () => {
    /**
     * Runs it with PATH holding only stand-ins (tcpdump when `present`, id answering `uid`,
     * dirname) and a stand-in apt-install.sh that "installs" tcpdump; returns its calls and status.
     */
    function ensure(present: boolean, uid: number) {
        const { dir, project, bin } = scriptProject("tcpdump", ["scripts/ensure-tcpdump.sh", "scripts/ensure-command.sh"]);
        const calls = path.join(dir, "calls");
        writeFileSync(calls, "");
        writeFileSync(
            path.join(project, "scripts/apt-install.sh"),
            `printf '%s\\n' "apt-install.sh $*" >> "${calls}"\nprintf '#!/bin/sh\\n' > "${bin}/tcpdump"\n/bin/chmod +x "${bin}/tcpdump"\n`,
        );
        if (present) executable(path.join(bin, "tcpdump"), "#!/bin/sh\n");
        executable(path.join(bin, "id"), `#!/bin/sh\necho ${uid}\n`);
        executable(path.join(bin, "dirname"), '#!/bin/sh\necho "${1%/*}"\n');
        // The real bash, alone of this machine's programs (it has tcpdump in /usr/bin).
        symlinkSync("/bin/bash", path.join(bin, "bash"));
        const result = bash([path.join(project, "scripts/ensure-tcpdump.sh")], { bin, env: { PATH: bin } });
        return { status: result.status, stderr: result.stderr, calls: readFileSync(calls, "utf8").trimEnd() };
    }

    it("changes nothing when tcpdump is there", () => {
        expect(ensure(true, 0)).toEqual({ status: 0, stderr: "", calls: "" });
    });

    it("installs Debian's tcpdump with apt, as root, when it is missing", () => {
        expect(ensure(false, 0)).toEqual({
            status: 0,
            stderr: "ensure-tcpdump: installing tcpdump with apt\n",
            calls: "apt-install.sh tcpdump",
        });
    });

    it("refuses, naming the package, when tcpdump is missing and this is not root", () => {
        expect(ensure(false, 1000)).toEqual({
            status: 1,
            stderr: "ensure-tcpdump: tcpdump is missing and this is not root: install Debian's tcpdump package first\n",
            calls: "",
        });
    });
});
