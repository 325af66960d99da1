/** The stand-in for the TLS provider under mocks (plan/tlsStandIn.ts): real keys and certificates, and a refusal for what it does not make. */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { certRequest, locallySignedCert, privateKey, selfSignedCert } from "../../plan/tlsStandIn";

const caUses = ["cert_signing", "crl_signing", "digital_signature"];
const leafUses = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

async function ca() {
    const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = await selfSignedCert({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: "test CA" },
        isCaCertificate: true,
        setSubjectKeyId: true,
        allowedUses: caUses,
        validityPeriodHours: 24,
    });
    return { key: String(key.privateKeyPem), cert: String(cert.certPem) };
}

describe("the TLS stand-in", () => {
    it("makes an ECDSA P-256 key as the provider writes it: SEC1, PKCS#8 and the public key, each PEM ending in a newline", () => {
        const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        expect(String(key.privateKeyPem)).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+-----END EC PRIVATE KEY-----\n$/);
        expect(String(key.privateKeyPemPkcs8)).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
        expect(createPrivateKey(String(key.privateKeyPem)).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    });

    it.each([
        [{ algorithm: "ECDSA" }, /ECDSA P256 keys only/],
        [{ algorithm: "ECDSA", ecdsaCurve: "P224" }, /ECDSA P256 keys only/],
        [{ algorithm: "RSA" }, /ECDSA P256 keys only/],
    ])("refuses a key it does not make: %j", (inputs, message) => {
        expect(() => privateKey(inputs)).toThrow(message);
    });

    it("signs a role's certificate with the CA: the chain verifies, with the request's names, the uses asked for and the validity", async () => {
        const authority = await ca();
        const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        const request = await certRequest({ privateKeyPem: key.privateKeyPem, subject: { commonName: "s" }, dnsNames: ["s", "tasks.s"] });
        const signed = await locallySignedCert({
            certRequestPem: request.certRequestPem,
            caCertPem: authority.cert,
            caPrivateKeyPem: authority.key,
            validityPeriodHours: 48,
            allowedUses: leafUses,
        });
        const cert = new X509Certificate(String(signed.certPem));
        const caCert = new X509Certificate(authority.cert);
        expect(cert.checkIssued(caCert) && cert.verify(caCert.publicKey)).toBe(true);
        expect(cert.ca).toBe(false);
        expect(cert.subjectAltName).toBe("DNS:s, DNS:tasks.s");
        expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
        expect(cert.checkPrivateKey(createPrivateKey(String(key.privateKeyPem)))).toBe(true);
        expect(Date.parse(String(signed.validityEndTime)) - Date.parse(String(signed.validityStartTime))).toBe(48 * 3600_000);
    });

    it("refuses a CA key that is not the CA certificate's, and a key use it does not make", async () => {
        const [one, other] = [await ca(), await ca()];
        const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        const { certRequestPem } = await certRequest({ privateKeyPem: key.privateKeyPem, subject: { commonName: "s" } });
        const base = { certRequestPem, caCertPem: one.cert, validityPeriodHours: 1, allowedUses: leafUses };
        await expect(locallySignedCert({ ...base, caPrivateKeyPem: other.key })).rejects.toThrow(/not the key of caCertPem/);
        await expect(locallySignedCert({ ...base, caPrivateKeyPem: one.key, allowedUses: ["code_signing"] })).rejects.toThrow(
            /does not make key use\(s\) code_signing/,
        );
    });
});
