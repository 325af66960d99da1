/**
 * What a failed TLS conversation means, in words an operator can act on: a pure function of
 * the socket error's code and message (node's own codes, and OpenSSL's reasons it carries),
 * and of whether the outputs say the server speaks TLS.
 */
export interface TlsFailure {
    /** "tls": a certificate or protocol problem; the rest as the session classifies them. */
    kind: "tls" | "closed";
    message: string;
}

/** The docs page on certificate rotation: where every certificate problem's fix is. */
export const ROTATION_HINT = "see docs/tls.md, Certificate rotation";

/** OpenSSL's verification errors as node reports them: the chain does not lead to the stack's CA. */
const UNTRUSTED = new Set([
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "CERT_SIGNATURE_FAILURE",
    "CERT_UNTRUSTED",
]);

/**
 * The meaning of a connection's failure when TLS is involved, or undefined when it is no TLS
 * matter (refused, timed out...: the session says those itself). `tls` is whether this client
 * spoke TLS (the outputs say the server does); `replied` whether any reply came.
 */
export function classifyTlsFailure(error: { code?: string; message: string }, tls: boolean, replied: boolean): TlsFailure | undefined {
    const { code = "", message } = error;
    if (tls) {
        if (UNTRUSTED.has(code)) {
            return {
                kind: "tls",
                message: `presented a certificate the stack's CA did not sign (${code}): the outputs' CA is not the one the server's certificate comes from (a replaced CA? ${ROTATION_HINT})`,
            };
        }
        if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
            return { kind: "tls", message: `presented a certificate for another name (${firstLine(message)})` };
        }
        if (code === "CERT_HAS_EXPIRED") return { kind: "tls", message: `presented an expired certificate: rotate it (${ROTATION_HINT})` };
        if (code === "CERT_NOT_YET_VALID")
            return { kind: "tls", message: "presented a certificate not valid yet (is this machine's clock right?)" };
        if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || /wrong version number|packet length too long|unknown protocol/i.test(message)) {
            return {
                kind: "tls",
                message: "does not speak TLS though the outputs say it does (is tls off on the server, or the stack not deployed yet?)",
            };
        }
        if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || /SSL routines|alert/i.test(message)) {
            return { kind: "tls", message: `refused the TLS handshake: ${firstLine(message)}` };
        }
        return undefined;
    }
    // A Redis that speaks TLS only closes a plain connection without a word (it logs "wrong version number").
    if (!replied && (code === "ECONNRESET" || message === "the connection was closed")) {
        return {
            kind: "closed",
            message: "without a reply (a server that speaks TLS only does that to a plain client: do the outputs lack its tls?)",
        };
    }
    return undefined;
}

function firstLine(message: string): string {
    return message.split("\n")[0];
}
