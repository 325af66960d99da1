/** TLS helpers of the live and Swarm tests. */
import { privateKey, selfSignedCert } from "../plan/tlsStandIn";

/** A CA of its own, ECDSA P-256, valid a day: not the stack's, for the tests that a server's certificate is refused. */
export async function anotherCa(): Promise<string> {
    const key = privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = await selfSignedCert({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: "another CA" },
        isCaCertificate: true,
        setSubjectKeyId: true,
        allowedUses: ["cert_signing", "digital_signature"],
        validityPeriodHours: 24,
    });
    return String(cert.certPem);
}
