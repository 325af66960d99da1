/**
 * Each role's TLS: its key and a certificate the stack's CA signs (the TLS provider's
 * resources, children of the environment), and the files a role gets with TLS on.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { isIP } from "node:net";
import { DEFAULT_BIND_ADDRESS } from "./containerSpec";
import type { EnvironmentBaseArgs, Platform, StackTls } from "./environmentArgs";
import { PROTOCOL_CONTAINER_PREFIX } from "./protocol";
import { type FileShape, type Role, TLS_CA, TLS_FILE_SHAPES, type TlsFilesInput, containerName, tlsPaths } from "./redisServer";

/** Validity of a role's certificate: two years; `check` warns 30 days before the end. */
export const DEFAULT_CERT_VALIDITY_HOURS = 2 * 365 * 24;

/**
 * The key uses of a role's certificate, in the TLS provider's names (terraform-provider-tls
 * common_cert.go supportedKeyUsagesStr): a server (clients check it) and, on an operational,
 * the client side of its link to the vault, which presents the same certificate.
 */
export const ROLE_CERT_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

/**
 * The names a role's certificate is valid for: on Swarm the service's name (what the overlay's
 * DNS and the operational use) and `tasks.NAME` (the same task in DNS round-robin mode); on
 * Docker the container's name, plus the bind address when clients dial it by address. Node's
 * TLS checks the name; Redis and redis-cli check only the chain.
 */
export function roleCertNames(
    platform: Platform,
    name: string,
    bindAddress: string,
): { commonName: string; dnsNames: string[]; ipAddresses: string[] } {
    if (platform === "swarm") return { commonName: name, dnsNames: [name, `tasks.${name}`], ipAddresses: [] };
    const reachable = isIP(bindAddress) !== 0 && bindAddress !== "0.0.0.0" && bindAddress !== "::";
    return { commonName: name, dnsNames: [name], ipAddresses: reachable ? [bindAddress] : [] };
}

/**
 * A role's private key and its certificate signed by the stack's CA, as the TLS provider's
 * resources (ECDSA P-256: the provider's default curve, P-224, is not one TLS 1.3 offers).
 * The key is wrapped in a secret here: the provider marks it secret itself, the mock runtime
 * does not. Returns the PEM texts, the key a secret.
 */
function createRoleCertificate(
    parent: pulumi.ComponentResource,
    environment: string,
    role: Role,
    args: EnvironmentBaseArgs,
    stackTls: StackTls,
): { keyPem: pulumi.Output<string>; certPem: pulumi.Output<string> } {
    const base = `${environment}-${role}-tls`;
    const key = new tls.PrivateKey(`${base}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
    const keyPem = pulumi.secret(key.privateKeyPem);
    const names = pulumi
        .all([args.containerPrefix ?? PROTOCOL_CONTAINER_PREFIX, args.bindAddress ?? DEFAULT_BIND_ADDRESS])
        .apply(([prefix, bind]) => roleCertNames(args.platform ?? "docker", containerName(prefix, environment, role), bind));
    const request = new tls.CertRequest(
        `${base}-csr`,
        {
            privateKeyPem: keyPem,
            subject: { commonName: names.commonName, organization: "nexus-redis" },
            dnsNames: names.dnsNames,
            ipAddresses: names.ipAddresses,
        },
        { parent },
    );
    const cert = new tls.LocallySignedCert(
        `${base}-cert`,
        {
            certRequestPem: request.certRequestPem,
            caCertPem: stackTls.caCertPem,
            caPrivateKeyPem: pulumi.secret(stackTls.caPrivateKeyPem),
            validityPeriodHours: stackTls.certValidityHours ?? DEFAULT_CERT_VALIDITY_HOURS,
            allowedUses: ROLE_CERT_USES,
        },
        { parent },
    );
    return { keyPem, certPem: cert.certPem };
}

/**
 * A role's TLS files' contents, or undefined without TLS. The certificate (public) is created
 * here; the files themselves are the role's, delivered with its config.
 */
export function roleTls(
    parent: pulumi.ComponentResource,
    environment: string,
    role: Role,
    args: EnvironmentBaseArgs,
): pulumi.Output<TlsFilesInput> | undefined {
    if (!args.tls) return undefined;
    const { keyPem, certPem } = createRoleCertificate(parent, environment, role, args, args.tls);
    const paths = tlsPaths(args.platform ?? "docker");
    return pulumi.all([keyPem, certPem, args.tls.caCertPem]).apply(([k, c, ca]) => ({ keyPem: k, certPem: c, caPem: ca, paths }));
}

/** The file shapes a role has with TLS: on Swarm the CA comes from the stack's one config, not the role's files. */
export function tlsFileShapes(args: EnvironmentBaseArgs): readonly FileShape[] {
    if (!args.tls) return [];
    return (args.platform ?? "docker") === "swarm" ? TLS_FILE_SHAPES.filter((f) => f !== TLS_CA) : TLS_FILE_SHAPES;
}
