/**
 * A stack output for the CLI's unit tests whose every server is a loopback port nothing listens
 * on (taken, then released): a check of it fails fast, each server refusing the connection.
 * Not a test file itself.
 */
import * as net from "node:net";
import { contact, user } from "./cli-samples";

/** The JSON of `pulumi stack output --json --show-secrets` for contact and user, every port closed. */
export async function stoppedStack(): Promise<string> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const environments = {
        contact: { ...contact, vault: { ...contact.vault, port }, operational: { ...contact.operational, port } },
        user: { ...user, vault: { ...user.vault, port } },
    };
    return JSON.stringify({ environments });
}
