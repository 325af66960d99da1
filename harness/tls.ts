/** TLS helpers of the tests: CAs of their own, made by the TLS provider's stand-in. */
import { privateKey, selfSignedCert } from "../plan/tlsStandIn";

/** A CA of its own, ECDSA P-256, valid a day: its key and certificate (PEM). */
export async function testCa(commonName = "another CA"): Promise<{ key: string; cert: string }> {
    const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = await selfSignedCert({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName },
        isCaCertificate: true,
        setSubjectKeyId: true,
        allowedUses: ["cert_signing", "digital_signature"],
        validityPeriodHours: 24,
    });
    return { key: String(key.privateKeyPem), cert: String(cert.certPem) };
}

/** The certificate of a CA that is not the stack's, for the tests that a server's certificate is refused. */
export async function anotherCa(): Promise<string> {
    return (await testCa()).cert;
}
