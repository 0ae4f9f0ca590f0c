// SPDX-License-Identifier: Apache-2.0
// Helper of tests/integration/openapi.sh: the TEE side of the KBS protocol v0.4.0 by hand, with
// node's crypto only, so that the broker's attestation endpoint is driven independently of
// `sekisho kbs get-resource`:
//   key PUB PRIV                      an RSA-2048 TEE key pair as JWKs (alg RSA-OAEP-256)
//   report-data NONCE PUB             REPORT_DATA in hex: SHA-384(JCS({"additional-evidence": "",
//                                     "nonce", "tee-pubkey"})) followed by 16 zero bytes
//   attestation NONCE PUB REPORT DIR  the KBS Attestation body, the report (1184 bytes) in
//                                     Trustee's evidence shape and the certificates of DIR (*.der)
import { generateKeyPairSync, createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';

// RFC 8785 for the JSON used here (ASCII strings, no floats): members sorted by name.
const jcs = (v) => {
    if (Array.isArray(v)) {
        return '[' + v.map(jcs).join(',') + ']';
    }
    if (v !== null && typeof v === 'object') {
        return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') +
            '}';
    }
    return JSON.stringify(v);
};
// Trustee's primary_runtime_data (kbs/src/attestation/backend.rs).
const runtimeData = (nonce, jwk) => ({ 'additional-evidence': '', nonce, 'tee-pubkey': jwk });

// virtee/sev's AttestationReport serde form, from the SEV-SNP ABI layout (Table 23 of the
// firmware ABI specification); TCB versions in the Milan/Genoa layout (the simulated chip is a
// Genoa): bootloader, tee, 4 reserved, snp, microcode.
function trusteeReport(b) {
    const bytes = (o, n) => [...b.subarray(o, o + n)];
    const u32 = (o) => b.readUInt32LE(o);
    const u64 = (o) => Number(b.readBigUInt64LE(o));
    const tcb = (o) => ({ fmc: null, bootloader: b[o], tee: b[o + 1], snp: b[o + 6],
                          microcode: b[o + 7] });
    const ver = (o) => ({ major: b[o + 2], minor: b[o + 1], build: b[o] });
    return {
        version: u32(0x00), guest_svn: u32(0x04), policy: u64(0x08), family_id: bytes(0x10, 16),
        image_id: bytes(0x20, 16), vmpl: u32(0x30), sig_algo: u32(0x34), current_tcb: tcb(0x38),
        plat_info: u64(0x40), key_info: u32(0x48), report_data: bytes(0x50, 64),
        measurement: bytes(0x90, 48), host_data: bytes(0xc0, 32), id_key_digest: bytes(0xe0, 48),
        author_key_digest: bytes(0x110, 48), report_id: bytes(0x140, 32),
        report_id_ma: bytes(0x160, 32), reported_tcb: tcb(0x180), cpuid_fam_id: b[0x188],
        cpuid_mod_id: b[0x189], cpuid_step: b[0x18a], chip_id: bytes(0x1a0, 64),
        committed_tcb: tcb(0x1e0), current: ver(0x1e8), committed: ver(0x1ec),
        launch_tcb: tcb(0x1f0), signature: { r: bytes(0x2a0, 72), s: bytes(0x2e8, 72) },
    };
}

const [cmd, ...a] = process.argv.slice(2);
if (cmd === 'key') {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(a[0], JSON.stringify({ ...publicKey.export({ format: 'jwk' }),
                                         alg: 'RSA-OAEP-256' }));
    writeFileSync(a[1], JSON.stringify({ ...privateKey.export({ format: 'jwk' }),
                                         alg: 'RSA-OAEP-256' }), { mode: 0o600 });
} else if (cmd === 'report-data') {
    const jwk = JSON.parse(readFileSync(a[1], 'utf8'));
    const digest = createHash('sha384').update(jcs(runtimeData(a[0], jwk))).digest('hex');
    console.log(digest + '00'.repeat(16));
} else if (cmd === 'attestation') {
    const rd = runtimeData(a[0], JSON.parse(readFileSync(a[1], 'utf8')));
    const report = readFileSync(a[2]);
    if (report.length !== 1184) {
        throw new Error(`${a[2]}: ${report.length} bytes, not a report`);
    }
    const certChain = readdirSync(a[3]).filter((f) => f.endsWith('.der')).sort().map((f) => ({
        cert_type: f.slice(0, -4).toUpperCase(), data: [...readFileSync(a[3] + '/' + f)] }));
    console.log(JSON.stringify({
        'runtime-data': { nonce: rd.nonce, 'tee-pubkey': rd['tee-pubkey'] },
        'tee-evidence': {
            primary_evidence: { attestation_report: trusteeReport(report), cert_chain: certChain },
            additional_evidence: rd['additional-evidence'],
        },
    }));
} else {
    console.error('usage: openapi_kbs_tee.mjs key|report-data|attestation ...');
    process.exitCode = 2;
}
