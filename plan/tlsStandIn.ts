/**
 * What the TLS provider (@pulumi/tls 5.6.1, bridging hashicorp/terraform-provider-tls) computes
 * for the four resource types the program uses, made for real under the mock runtime: keys
 * with node:crypto, certificates and requests with @peculiar/x509 on node's WebCrypto
 * (node:crypto parses X.509 but cannot sign one). Redis, redis-cli, openssl and node's TLS
 * accept them as they accept the provider's, so the live tests run real TLS.
 *
 * Shapes follow the provider's `internal/provider/` files:
 * - resource_private_key.go / common_key.go: an ECDSA key's `private_key_pem` is SEC1
 *   ("EC PRIVATE KEY"), `private_key_pem_pkcs8` PKCS#8, `public_key_pem` PKIX; each PEM ends
 *   in a newline (Go's pem.Encode).
 * - common_cert.go createCertificate: a random 128-bit serial (also the resource's id),
 *   NotBefore now, NotAfter now + validity_period_hours, the key usages and extended key
 *   usages of `allowed_uses`, BasicConstraints with IsCA; a locally signed certificate takes
 *   the request's subject, DNS names and IP addresses, and Go adds the CA's key ID as its
 *   authority key ID.
 * Anything else (another algorithm or curve, a subject field or key use not listed here) is an
 * error: the stand-in never pretends.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { type KeyObject, X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from "node:crypto";
import { isIP } from "node:net";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type CryptoKey = webcrypto.CryptoKey;

export const TLS_PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
export const TLS_SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert";
export const TLS_CERT_REQUEST = "tls:index/certRequest:CertRequest";
export const TLS_LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert";
export const TLS_TYPES: readonly string[] = [TLS_PRIVATE_KEY, TLS_SELF_SIGNED_CERT, TLS_CERT_REQUEST, TLS_LOCALLY_SIGNED_CERT];

/** Outputs the provider marks secret (the SDK's additionalSecretOutputs of PrivateKey). */
export const TLS_SECRET_OUTPUTS: Readonly<Record<string, readonly string[]>> = {
    [TLS_PRIVATE_KEY]: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"],
};

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** Key uses by the provider's names (common_cert.go keyUsages / extendedKeyUsages); only these are made. */
const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
};
const EXTENDED_KEY_USAGES: Record<string, string> = {
    server_auth: x509.ExtendedKeyUsage.serverAuth,
    client_auth: x509.ExtendedKeyUsage.clientAuth,
};

export class TlsStandInError extends Error {}

function text(inputs: Record<string, unknown>, key: string, type: string): string {
    const value = inputs[key];
    if (typeof value !== "string" || value === "") throw new TlsStandInError(`${type}: input ${key} is required`);
    return value;
}

function list(inputs: Record<string, unknown>, key: string): string[] {
    const value = inputs[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
        throw new TlsStandInError(`input ${key} is not a list of strings`);
    return value as string[];
}

function pem(item: { toString(format: "pem"): string }): string {
    return `${item.toString("pem").trimEnd()}\n`;
}

/** A private key: ECDSA P256 only (the program's choice; the provider's default curve P224 cannot do TLS 1.3). */
export function privateKey(inputs: Record<string, unknown>): Record<string, unknown> {
    if (inputs.algorithm !== "ECDSA" || inputs.ecdsaCurve !== "P256") {
        throw new TlsStandInError(
            `${TLS_PRIVATE_KEY}: the stand-in makes ECDSA P256 keys only, got ${String(inputs.algorithm)} ${String(inputs.ecdsaCurve)}`,
        );
    }
    const { privateKey: key, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    return {
        privateKeyPem: key.export({ format: "pem", type: "sec1" }).toString(),
        privateKeyPemPkcs8: key.export({ format: "pem", type: "pkcs8" }).toString(),
        publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    };
}

async function cryptoKeys(privatePem: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; object: KeyObject }> {
    const object = createPrivateKey(privatePem);
    if (object.asymmetricKeyType !== "ec") throw new TlsStandInError("the stand-in signs with ECDSA keys only");
    const pkcs8 = object.export({ format: "der", type: "pkcs8" });
    const spki = createPublicKey(object).export({ format: "der", type: "spki" });
    const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, EC, true, ["sign"]);
    const publicKey = await webcrypto.subtle.importKey("spki", spki, EC, true, ["verify"]);
    return { privateKey: privateKey as CryptoKey, publicKey: publicKey as CryptoKey, object };
}

/** The subject as a name; only the fields the program sets are made. */
function subjectName(subject: unknown, type: string): x509.JsonName {
    if (!subject || typeof subject !== "object") throw new TlsStandInError(`${type}: input subject is required`);
    const s = subject as Record<string, unknown>;
    const unknown = Object.keys(s).filter((k) => k !== "commonName" && k !== "organization");
    if (unknown.length > 0) throw new TlsStandInError(`${type}: the stand-in does not make subject field(s) ${unknown.join(", ")}`);
    return [
        ...(typeof s.commonName === "string" ? [{ CN: [s.commonName] }] : []),
        ...(typeof s.organization === "string" ? [{ O: [s.organization] }] : []),
    ];
}

function usageExtensions(uses: string[], type: string): x509.Extension[] {
    const unknown = uses.filter((u) => KEY_USAGES[u] === undefined && EXTENDED_KEY_USAGES[u] === undefined);
    if (unknown.length > 0) throw new TlsStandInError(`${type}: the stand-in does not make key use(s) ${unknown.join(", ")}`);
    const flags = uses.reduce((f, u) => f | (KEY_USAGES[u] ?? 0), 0);
    const extended = uses.filter((u) => EXTENDED_KEY_USAGES[u] !== undefined).map((u) => EXTENDED_KEY_USAGES[u]);
    return [
        ...(flags ? [new x509.KeyUsagesExtension(flags, true)] : []),
        ...(extended.length > 0 ? [new x509.ExtendedKeyUsageExtension(extended)] : []),
    ];
}

function alternativeNames(dnsNames: string[], ipAddresses: string[]): x509.Extension[] {
    for (const ip of ipAddresses) if (isIP(ip) === 0) throw new TlsStandInError(`"${ip}" is not an IP address`);
    const names = [
        ...dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...ipAddresses.map((value) => ({ type: "ip" as const, value })),
    ];
    return names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [];
}

function serial(): string {
    const bytes = webcrypto.getRandomValues(new Uint8Array(16));
    bytes[0] &= 0x7f;
    return Buffer.from(bytes).toString("hex");
}

function validity(inputs: Record<string, unknown>, type: string): { notBefore: Date; notAfter: Date } {
    const hours = inputs.validityPeriodHours;
    if (typeof hours !== "number" || !Number.isInteger(hours) || hours < 0)
        throw new TlsStandInError(`${type}: validityPeriodHours must be a whole number`);
    // Whole seconds: X.509 times have no fraction, and the provider's RFC 3339 times none either.
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    return { notBefore, notAfter: new Date(notBefore.getTime() + hours * 3600_000) };
}

function certOutputs(cert: x509.X509Certificate, notBefore: Date, notAfter: Date): Record<string, unknown> {
    return {
        certPem: pem(cert),
        validityStartTime: notBefore.toISOString().replace(".000Z", "Z"),
        validityEndTime: notAfter.toISOString().replace(".000Z", "Z"),
        readyForRenewal: false,
        id: BigInt(`0x${cert.serialNumber}`).toString(),
    };
}

export async function selfSignedCert(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const keys = await cryptoKeys(text(inputs, "privateKeyPem", TLS_SELF_SIGNED_CERT));
    const { notBefore, notAfter } = validity(inputs, TLS_SELF_SIGNED_CERT);
    const isCa = inputs.isCaCertificate === true;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: subjectName(inputs.subject, TLS_SELF_SIGNED_CERT),
        notBefore,
        notAfter,
        keys,
        signingAlgorithm: EC,
        extensions: [
            new x509.BasicConstraintsExtension(isCa, undefined, true),
            ...usageExtensions(list(inputs, "allowedUses"), TLS_SELF_SIGNED_CERT),
            ...alternativeNames(list(inputs, "dnsNames"), list(inputs, "ipAddresses")),
            ...(inputs.setSubjectKeyId === true ? [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)] : []),
        ],
    });
    return { ...certOutputs(cert, notBefore, notAfter), keyAlgorithm: "ECDSA" };
}

export async function certRequest(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const keys = await cryptoKeys(text(inputs, "privateKeyPem", TLS_CERT_REQUEST));
    const request = await x509.Pkcs10CertificateRequestGenerator.create({
        name: subjectName(inputs.subject, TLS_CERT_REQUEST),
        keys,
        signingAlgorithm: EC,
        extensions: alternativeNames(list(inputs, "dnsNames"), list(inputs, "ipAddresses")),
    });
    return { certRequestPem: pem(request), keyAlgorithm: "ECDSA", id: "" };
}

export async function locallySignedCert(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const request = new x509.Pkcs10CertificateRequest(text(inputs, "certRequestPem", TLS_LOCALLY_SIGNED_CERT));
    if (!(await request.verify())) throw new TlsStandInError(`${TLS_LOCALLY_SIGNED_CERT}: the certificate request's signature is invalid`);
    const caPem = text(inputs, "caCertPem", TLS_LOCALLY_SIGNED_CERT);
    const ca = new x509.X509Certificate(caPem);
    const caKeys = await cryptoKeys(text(inputs, "caPrivateKeyPem", TLS_LOCALLY_SIGNED_CERT));
    // The CA's key must be the one its certificate holds, or nothing would verify.
    if (!new X509Certificate(caPem).checkPrivateKey(caKeys.object)) {
        throw new TlsStandInError(`${TLS_LOCALLY_SIGNED_CERT}: caPrivateKeyPem is not the key of caCertPem`);
    }
    const { notBefore, notAfter } = validity(inputs, TLS_LOCALLY_SIGNED_CERT);
    // By OID: getExtension(SubjectAlternativeNameExtension) finds nothing on a parsed request (@peculiar/x509 2.2.0).
    const names = request.getExtension("2.5.29.17");
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: request.subject,
        issuer: ca.subject,
        notBefore,
        notAfter,
        publicKey: request.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: EC,
        extensions: [
            new x509.BasicConstraintsExtension(inputs.isCaCertificate === true, undefined, true),
            ...usageExtensions(list(inputs, "allowedUses"), TLS_LOCALLY_SIGNED_CERT),
            ...(names ? [names] : []),
            await x509.AuthorityKeyIdentifierExtension.create(ca, false),
        ],
    });
    return { ...certOutputs(cert, notBefore, notAfter), caKeyAlgorithm: "ECDSA" };
}

/** What the provider computes for a TLS resource created (or replaced) with `inputs`, secrets shown. */
export async function tlsOutputs(type: string, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    switch (type) {
        case TLS_PRIVATE_KEY:
            return privateKey(inputs);
        case TLS_SELF_SIGNED_CERT:
            return selfSignedCert(inputs);
        case TLS_CERT_REQUEST:
            return certRequest(inputs);
        case TLS_LOCALLY_SIGNED_CERT:
            return locallySignedCert(inputs);
        default:
            throw new TlsStandInError(`${type} is not a TLS resource type the stand-in makes`);
    }
}
