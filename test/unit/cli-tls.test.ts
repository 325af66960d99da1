/** The CLI's side of TLS: what each TLS failure means, the certificate's expiry, and the CA in the outputs. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CERT_EXPIRY_WARNING_DAYS, certificateProblem } from "../../cli/health/diagnose";
import { Deadline, RedisSession } from "../../cli/redis/session";
import { anotherCa, testCa } from "../../harness/tls";
import { certRequest, locallySignedCert, privateKey } from "../../plan/tlsStandIn";
import { parseOutputs } from "../../cli/fleet/outputs";
import { OutputsError } from "../../cli/core/errors";
import { classifyTlsFailure } from "../../cli/redis/tlsFailure";
import { observeVault } from "../../cli/health/observe";

describe.each([
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate", true, "tls", /the stack's CA did not sign/],
    ["SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain", true, "tls", /the stack's CA did not sign/],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate", true, "tls", /the stack's CA did not sign/],
    [
        "ERR_TLS_CERT_ALTNAME_INVALID",
        "Hostname/IP does not match certificate's altnames: Host: x",
        true,
        "tls",
        /for another name \(Hostname/,
    ],
    [
        "CERT_HAS_EXPIRED",
        "certificate has expired",
        true,
        "tls",
        /expired certificate: rotate it \(see docs\/tls\.md, Certificate rotation\)/,
    ],
    ["CERT_NOT_YET_VALID", "certificate is not yet valid", true, "tls", /clock/],
    [
        "ERR_SSL_WRONG_VERSION_NUMBER",
        "ssl3_get_record:wrong version number",
        true,
        "tls",
        /does not speak TLS though the outputs say it does/,
    ],
    ["EPROTO", "routines:ssl3_get_record:packet length too long", true, "tls", /does not speak TLS/],
    ["ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", "tlsv1 alert protocol version", true, "tls", /refused the TLS handshake/],
    [undefined, "the connection was closed", false, "closed", /a server that speaks TLS only does that to a plain client/],
    ["ECONNRESET", "read ECONNRESET", false, "closed", /a server that speaks TLS only/],
])("a connection that failed with %s (%s), TLS %s", (code, message, tls, kind, words) => {
    it(`is a ${kind} failure that says what to do`, () => {
        const failure = classifyTlsFailure({ code, message }, tls, false);
        expect(failure?.kind).toBe(kind);
        expect(failure?.message).toMatch(words);
    });
});

describe("failures that are no TLS matter", () => {
    it.each([
        [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED" }, true],
        [{ message: "timed out" }, true],
        [{ code: "ECONNRESET", message: "read ECONNRESET" }, true],
    ])("are left to the session: %j", (error, tls) => {
        expect(classifyTlsFailure(error, tls, false)).toBeUndefined();
    });

    it("does not blame TLS for a plain server that closed after it replied", () => {
        expect(classifyTlsFailure({ message: "the connection was closed" }, false, true)).toBeUndefined();
    });
});

describe("tls-cert-expiring", () => {
    const now = Date.parse("2027-01-01T00:00:00Z");
    const inDays = (days: number) => new Date(now + days * 86_400_000).toISOString();
    it.each([
        [CERT_EXPIRY_WARNING_DAYS + 1, undefined],
        [CERT_EXPIRY_WARNING_DAYS, undefined],
        [CERT_EXPIRY_WARNING_DAYS - 1, /expires on .*, in 29 days/],
        [1, /in 1 day:/],
        [-2, /expired on/],
    ])("a certificate that ends in %s days: %s", (days, words) => {
        const problem = certificateProblem("contact", "vault", inDays(days), now);
        if (words === undefined) expect(problem).toBeUndefined();
        else {
            expect(problem).toMatchObject({ code: "tls-cert-expiring", role: "vault" });
            expect(problem!.message).toMatch(words);
            expect(problem!.message).toContain(
                "`pulumi up --target URN --target-dependents --replace URN`, URN the one of contact-vault-tls-cert",
            );
        }
    });

    it("says nothing of a server reached without TLS", () => {
        expect(certificateProblem("contact", "operational", undefined, now)).toBeUndefined();
    });
});

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const endpoint = (name: string) => ({ container: name, host: "127.0.0.1", port: 6379, tls: { serverName: name } });
const secure = { kind: "secure", vault: { ...endpoint("p-user-vault"), password: "pw" }, backup: { user: "backup", password: "b" } };

describe("the outputs of a TLS stack", () => {
    it("give each endpoint its server name and the stack's CA, from `pulumi stack output` and from the offline plan", () => {
        for (const doc of [
            { environments: { user: secure }, tls: { ca: CA } },
            { outputs: { environments: { user: secure }, tls: { ca: CA } } },
        ]) {
            expect(parseOutputs(JSON.stringify(doc), "f").user.vault.tls).toEqual({ serverName: "p-user-vault", ca: CA });
        }
    });

    it("refuse a server name without the stack's CA, naming the output", () => {
        expect(() => parseOutputs(JSON.stringify({ environments: { user: secure } }), "f")).toThrow(OutputsError);
        expect(() => parseOutputs(JSON.stringify({ environments: { user: secure } }), "f")).toThrow(
            /output tls \(the stack's CA\) is missing/,
        );
        expect(() => parseOutputs(JSON.stringify({ environments: { user: secure }, tls: { ca: "x" } }), "f")).toThrow(/tls.ca must be/);
    });

    it("never show what stands where the CA should be: a private key given by mistake stays off the terminal", () => {
        const key = String(privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem);
        const body = key.split("\n")[1];
        let message = "";
        try {
            parseOutputs(JSON.stringify({ environments: { user: secure }, tls: { ca: key } }), "f");
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toMatch(/tls\.ca must be the stack's CA certificate \(PEM\), got a PEM of EC PRIVATE KEY \(not shown\)/);
        expect(message).not.toContain(body.slice(0, 16));
        expect(() => parseOutputs(JSON.stringify({ environments: { user: secure }, tls: { ca: "hunter2" } }), "f")).toThrow(
            /tls\.ca must be the stack's CA certificate \(PEM\), got a string that holds no PEM \(not shown\)$/m,
        );
    });

    it("leave an endpoint without tls plain, whatever the rest says", () => {
        const plain = { ...secure, vault: { container: "c", host: "h", port: 1, password: "pw" } };
        expect(parseOutputs(JSON.stringify({ environments: { user: plain }, tls: { ca: CA } }), "f").user.vault.tls).toBeUndefined();
    });
});

describe("a session over TLS to a server that never finishes the handshake", () => {
    it("says so, and that a server without TLS waits like that (a plain Redis with a password reads the ClientHello as the start of a command line)", async () => {
        const net = await import("node:net");
        const sockets: import("node:net").Socket[] = [];
        const server = net.createServer((socket) => {
            sockets.push(socket);
            socket.resume(); // reads the ClientHello and answers nothing, as such a Redis does
            socket.on("error", () => undefined);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as import("node:net").AddressInfo).port;
        const deadline = new Deadline(5000);
        const session = new RedisSession({ host: "127.0.0.1", port, tls: { serverName: "p-kb-vault", ca: CA } }, deadline, 300);
        try {
            const [settled] = await session.callAll([["AUTH", "pw"]]);
            expect(settled.failure).toEqual({
                kind: "silent",
                command: "AUTH",
                message:
                    "accepted the connection but did not finish the TLS handshake within 300 ms (a hung or paused server, or one without TLS, which waits for the end of a plain command line: is tls off on the server?)",
            });
        } finally {
            deadline.finish();
            for (const socket of sockets) socket.destroy();
            server.close();
        }
    });
});

describe("a session over TLS, against a local TLS server that answers PING", () => {
    let server: import("node:tls").Server;
    let port = 0;
    let ca = "";
    let otherCa = "";
    let validTo = "";

    beforeAll(async () => {
        const tls = await import("node:tls");
        const authority = await testCa("CA");
        ca = authority.cert;
        otherCa = await anotherCa();
        const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        const { certRequestPem } = await certRequest({
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: "p-kb-vault" },
            dnsNames: ["p-kb-vault"],
        });
        const leaf = await locallySignedCert({
            certRequestPem,
            caCertPem: authority.cert,
            caPrivateKeyPem: authority.key,
            validityPeriodHours: 24,
            allowedUses: ["digital_signature", "server_auth"],
        });
        validTo = String(leaf.validityEndTime);
        server = tls.createServer({ key: String(key.privateKeyPem), cert: String(leaf.certPem) }, (socket) => {
            socket.on("data", () => socket.write("+PONG\r\n"));
            socket.on("error", () => undefined);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as import("node:net").AddressInfo).port;
    });
    afterAll(() => server?.close());

    async function ping(tls: { serverName: string; ca: string } | undefined) {
        const deadline = new Deadline(5000);
        const session = new RedisSession({ host: "127.0.0.1", port, tls }, deadline);
        try {
            const [settled] = await session.callAll([["PING"]]);
            return { settled, certificate: session.certificate };
        } finally {
            deadline.finish();
        }
    }

    it("talks with the stack's CA and the server's name, and reads the certificate's end", async () => {
        const { settled, certificate } = await ping({ serverName: "p-kb-vault", ca });
        expect(settled.value).toBe("PONG");
        expect(certificate?.validTo).toBe(new Date(validTo).toISOString());
    });

    it("keeps the certificate's end in a vault's observation when the conversation after the handshake fails, so check still reports an expiring certificate", async () => {
        const vault = { ...secure.vault, port, tls: { serverName: "p-kb-vault" } };
        const env = parseOutputs(JSON.stringify({ environments: { user: { ...secure, vault } }, tls: { ca } }), "f").user;
        const deadline = new Deadline(1000);
        // The server answers one PONG per packet, so the vault's pipelined batch is never fully answered.
        const observation = await observeVault(env, deadline).finally(() => deadline.finish());
        expect(observation.failure).toBeDefined();
        expect(observation.certificateValidTo).toBe(new Date(validTo).toISOString());
    });

    it("refuses a server whose certificate another CA signed", async () => {
        const { settled } = await ping({ serverName: "p-kb-vault", ca: otherCa });
        expect(settled.failure).toMatchObject({ kind: "tls", message: expect.stringMatching(/the stack's CA did not sign/) });
    });

    it("refuses a certificate for another name", async () => {
        const { settled } = await ping({ serverName: "p-kb-operational", ca });
        expect(settled.failure).toMatchObject({ kind: "tls", message: expect.stringMatching(/another name/) });
    });

    it("says a plain client got no reply from a server that speaks TLS only", async () => {
        const { settled } = await ping(undefined);
        expect(settled.failure?.kind).toBe("closed");
        expect(settled.failure?.message).toMatch(/speaks TLS only/);
    });
});
