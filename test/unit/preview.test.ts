/** The program under the mock runtime in preview mode, where most outputs stay unknown. */
import { expect, it } from "vitest";
import { runPlan } from "../../plan/plan";

it("registers every resource in preview mode without hanging on unknown values", async () => {
    const plan = await (await runPlan({ stack: "dev", preview: true })).render(false);
    const containers = plan.resources.filter((r) => r.type === "docker:index/container:Container");
    expect(containers).toHaveLength(22);
    // The uploaded config files hold the generated passwords, not known until `pulumi up`.
    for (const c of containers) expect(c.inputs.uploads).toBe("[unknown]");
    expect(containers.find((c) => c.name === "contact-vault")!.inputs.ports).toEqual([
        { internal: 6379, external: 6630, ip: "127.0.0.1", protocol: "tcp" },
    ]);
}, 30_000);
