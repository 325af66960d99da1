/**
 * The engine model's table for what the random and TLS providers create: passwords, the
 * volume-name record, keys and certificates (see plan/engineModel.ts for the sources).
 */
import { type FieldModel, type ResourceModel, field } from "./engineFields";

const TLS = "terraform-provider-tls internal/provider";
/** A PEM input: replaced when its PEM differs from the stored one (requireReplaceIfStateContainsPEMString). */
const pemInput = (file: string, attribute: string) =>
    field("string", "replace", "sent", `${TLS}/${file} ${attribute} (requireReplaceIfStateContainsPEMString)`);
/** A certificate's or request's subject: a block, every field RequiresReplace. */
const subjectBlock = (file: string) =>
    field("block", "replace", "sent", `${TLS}/${file} subject (RequiresReplace)`, {
        fields: {
            commonName: field("string", "replace", "sent", `${TLS}/${file} subject.common_name`),
            organization: field("string", "replace", "sent", `${TLS}/${file} subject.organization`),
        },
    });
/** Fields of a certificate both SelfSignedCert and LocallySignedCert take (common_cert.go). */
const certificateFields = (file: string): Record<string, FieldModel> => ({
    validityPeriodHours: field("int", "replace", "sent", `${TLS}/${file} validity_period_hours (RequiresReplace)`),
    allowedUses: field("list", "replace", "sent", `${TLS}/${file} allowed_uses (RequiresReplace)`),
    isCaCertificate: field("bool", "replace", "sent", `${TLS}/${file} is_ca_certificate (RequiresReplace, default false)`, {
        default: false,
    }),
    setSubjectKeyId: field("bool", "replace", "sent", `${TLS}/${file} set_subject_key_id (RequiresReplace, default false)`, {
        default: false,
    }),
    // The one input changed in place (updatedUsingPlan): the certificate stays.
    earlyRenewalHours: field("int", "update", "sent", `${TLS}/${file} early_renewal_hours (no RequiresReplace, default 0)`, {
        default: 0,
    }),
});

export const SECRETS_MODEL: Readonly<Record<string, ResourceModel>> = {
    "random:index/randomPassword:RandomPassword": {
        source: "terraform-provider-random resource_password.go passwordSchemaV3",
        fields: {
            length: field("int", "replace", "sent", "resource_password.go length (RequiresReplace)"),
            special: field("bool", "replace", "sent", "resource_password.go special (RequiresReplace)"),
        },
    },

    "tls:index/privateKey:PrivateKey": {
        source: `${TLS}/resource_private_key.go privateKeyResource; common_key.go`,
        fields: {
            algorithm: field("string", "replace", "sent", `${TLS}/resource_private_key.go algorithm (RequiresReplace)`),
            // Its default, P224, is no curve TLS 1.3 offers: the program always sends P256.
            ecdsaCurve: field("string", "replace", "sent", `${TLS}/resource_private_key.go ecdsa_curve (RequiresReplace, default P224)`, {
                default: "P224",
            }),
            rsaBits: field("int", "replace", "sent", `${TLS}/resource_private_key.go rsa_bits (RequiresReplace, default 2048)`, {
                default: 2048,
            }),
        },
    },

    "tls:index/selfSignedCert:SelfSignedCert": {
        source: `${TLS}/resource_self_signed_cert.go selfSignedCertResource; common_cert.go createCertificate`,
        fields: {
            privateKeyPem: pemInput("resource_self_signed_cert.go", "private_key_pem"),
            subject: subjectBlock("resource_self_signed_cert.go"),
            dnsNames: field("list", "replace", "sent", `${TLS}/resource_self_signed_cert.go dns_names (RequiresReplace)`),
            ipAddresses: field("list", "replace", "sent", `${TLS}/resource_self_signed_cert.go ip_addresses (RequiresReplace)`),
            ...certificateFields("resource_self_signed_cert.go"),
        },
    },

    "tls:index/certRequest:CertRequest": {
        source: `${TLS}/resource_cert_request.go certRequestResource`,
        fields: {
            privateKeyPem: pemInput("resource_cert_request.go", "private_key_pem"),
            subject: subjectBlock("resource_cert_request.go"),
            dnsNames: field("list", "replace", "sent", `${TLS}/resource_cert_request.go dns_names (RequiresReplace)`),
            ipAddresses: field("list", "replace", "sent", `${TLS}/resource_cert_request.go ip_addresses (RequiresReplace)`),
        },
    },

    "tls:index/locallySignedCert:LocallySignedCert": {
        source: `${TLS}/resource_locally_signed_cert.go locallySignedCertResource; common_cert.go createCertificate`,
        fields: {
            certRequestPem: pemInput("resource_locally_signed_cert.go", "cert_request_pem"),
            caCertPem: pemInput("resource_locally_signed_cert.go", "ca_cert_pem"),
            caPrivateKeyPem: pemInput("resource_locally_signed_cert.go", "ca_private_key_pem"),
            ...certificateFields("resource_locally_signed_cert.go"),
        },
    },

    "random:index/randomId:RandomId": {
        source: "terraform-provider-random resource_id.go",
        fields: {
            byteLength: field("int", "replace", "sent", "resource_id.go byte_length (RequiresReplace)"),
            keepers: field("map", "replace", "sent", "resource_id.go keepers (RequiresReplaceIfValuesNotNull)"),
        },
    },
};
