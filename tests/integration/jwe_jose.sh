#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# JWE and RSA-AES key wrap against independent implementations: npm jose (panva) and node's own
# crypto (OpenSSL inside node). Our JWEs (RSA-OAEP-256, ECDH-ES+A256KW on P-256 and P-521)
# must open with jose's flattenedDecrypt; jose's JWEs must open with `sekisho jwe decrypt`; our
# RSA-AES key wraps must unwrap with crypto.privateDecrypt + id-aes256-wrap-pad, and node's with
# `sekisho jwe unwrap`.
set -euo pipefail
: "${SK_BIN:?}" "${SK_SRC:?}"
SK="$SK_BIN/sekisho"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "jwe_jose: node/npm not installed; skipping" >&2
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# npm jose in the build tree's cache (shared with service_basic.sh; the lock keeps two
# installs from racing when the suite runs in parallel).
cache="$SK_BIN/node-cache"
mkdir -p "$cache"
(
    flock 9
    if ! (cd "$cache" && node -e "require.resolve('jose')" >/dev/null 2>&1); then
        (cd "$cache" && npm install --no-audit --no-fund --silent jose >/dev/null) \
            || fail "npm install jose (network needed)"
    fi
) 9>"$SK_BIN/node-cache.lock"

cat >"$work/jose.mjs" <<'JS'
import { createRequire } from 'node:module';
import fs from 'node:fs';
import crypto from 'node:crypto';
const require = createRequire(process.env.CACHE + '/');
const jose = await import(require.resolve('jose'));
const [mode, ...a] = process.argv.slice(2);
const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const same = (x, y, what) => {
    if (Buffer.compare(Buffer.from(x), Buffer.from(y)) !== 0) throw new Error(what + ' differs');
};
const oaepHash = { CKM_RSA_AES_KEY_WRAP: 'sha1', RSA_AES_KEY_WRAP_256: 'sha256',
                   RSA_AES_KEY_WRAP_384: 'sha384' };
const AIV = Buffer.from('A65959A6', 'hex'); // RFC 5649 §3 alternative initial value
if (mode === 'decrypt') {
    // decrypt PRIV JWE EXPECTED: jose opens our flattened JWE with the private JWK.
    const jwk = readJson(a[0]);
    const jwe = readJson(a[1]);
    if ('aad' in jwe || 'unprotected' in jwe || 'header' in jwe) throw new Error('extra members');
    const key = await jose.importJWK(jwk, jwk.alg);
    const { plaintext, protectedHeader } = await jose.flattenedDecrypt(jwe, key, {
        keyManagementAlgorithms: [jwk.alg], contentEncryptionAlgorithms: ['A256GCM'] });
    if (protectedHeader.alg !== jwk.alg || protectedHeader.enc !== 'A256GCM')
        throw new Error('header ' + JSON.stringify(protectedHeader));
    if (jwk.kty === 'EC' && (protectedHeader.epk.crv !== jwk.crv || protectedHeader.apu))
        throw new Error('epk ' + JSON.stringify(protectedHeader));
    same(plaintext, fs.readFileSync(a[2]), 'plaintext');
} else if (mode === 'encrypt') {
    // encrypt PUB PLAINTEXT FLAT COMPACT: jose encrypts to our public JWK.
    const jwk = readJson(a[0]);
    const key = await jose.importJWK(jwk, jwk.alg);
    const pt = fs.readFileSync(a[1]);
    const hdr = { alg: jwk.alg, enc: 'A256GCM' };
    const flat = await new jose.FlattenedEncrypt(pt).setProtectedHeader(hdr).encrypt(key);
    fs.writeFileSync(a[2], JSON.stringify(flat));
    const compact = await new jose.CompactEncrypt(pt).setProtectedHeader(hdr).encrypt(key);
    fs.writeFileSync(a[3], compact + '\n');
} else if (mode === 'unwrap') {
    // unwrap PRIV ENC WRAPPED EXPECTED: node's OpenSSL undoes our RSA-AES key wrap.
    const priv = crypto.createPrivateKey({ key: readJson(a[0]), format: 'jwk' });
    const w = Buffer.from(fs.readFileSync(a[2], 'utf8').trim(), 'base64url');
    const size = priv.asymmetricKeyDetails.modulusLength / 8;
    const kek = crypto.privateDecrypt({ key: priv, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
                                        oaepHash: oaepHash[a[1]] }, w.subarray(0, size));
    if (kek.length !== 32) throw new Error('ephemeral key of ' + kek.length + ' bytes');
    const d = crypto.createDecipheriv('id-aes256-wrap-pad', kek, AIV);
    same(Buffer.concat([d.update(w.subarray(size)), d.final()]), fs.readFileSync(a[3]), 'key');
} else if (mode === 'wrap') {
    // wrap PUB ENC KEY OUT: node wraps, we unwrap.
    const pub = crypto.createPublicKey({ key: readJson(a[0]), format: 'jwk' });
    const kek = crypto.randomBytes(32);
    const c1 = crypto.publicEncrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
                                      oaepHash: oaepHash[a[1]] }, kek);
    const c = crypto.createCipheriv('id-aes256-wrap-pad', kek, AIV);
    const c2 = Buffer.concat([c.update(fs.readFileSync(a[2])), c.final()]);
    fs.writeFileSync(a[3], Buffer.concat([c1, c2]).toString('base64url') + '\n');
} else if (mode === 'p384') {
    // p384 OUT: a real P-384 public key, which must be refused for ECDH-ES+A256KW.
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
    fs.writeFileSync(a[0], JSON.stringify({ ...publicKey.export({ format: 'jwk' }),
                                            alg: 'ECDH-ES+A256KW' }));
} else {
    throw new Error('mode ' + mode);
}
JS
jose() { CACHE="$cache" node "$work/jose.mjs" "$@"; }

head -c 1000 /dev/urandom >"$work/bin.txt"
printf '{"secret":"s3cr3t","note":"a KBS resource"}' >"$work/res.txt"
: >"$work/empty.txt"

n=0
for spec in "rsa2048:--bits 2048" "rsa3072:" "p256:--crv P-256" "p521:--crv P-521"; do
    name=${spec%%:*}
    args=${spec#*:}
    # shellcheck disable=SC2086
    "$SK" jwe keygen $args --out "$work/$name.jwk" --pub "$work/$name.pub" \
        || fail "$name: keygen"
    [ "$(stat -c %a "$work/$name.jwk")" = 600 ] || fail "$name: private key mode"
    for pt in bin res empty; do
        # Ours, opened by jose.
        "$SK" jwe encrypt --to "$work/$name.pub" "$work/$pt.txt" --out "$work/ours.jwe" \
            || fail "$name/$pt: encrypt"
        jose decrypt "$work/$name.jwk" "$work/ours.jwe" "$work/$pt.txt" \
            || fail "$name/$pt: jose flattenedDecrypt of our JWE"
        # jose's, opened by us (flattened and compact).
        jose encrypt "$work/$name.pub" "$work/$pt.txt" "$work/theirs.jwe" "$work/theirs.compact" \
            || fail "$name/$pt: jose encrypt"
        "$SK" jwe decrypt --key "$work/$name.jwk" "$work/theirs.jwe" --out "$work/out" \
            || fail "$name/$pt: decrypt of jose's flattened JWE"
        cmp -s "$work/out" "$work/$pt.txt" || fail "$name/$pt: plaintext of jose's JWE"
        [ "$(stat -c %a "$work/out")" = 600 ] || fail "$name/$pt: plaintext file mode"
        "$SK" jwe decrypt --key "$work/$name.jwk" <"$work/theirs.compact" >"$work/out" \
            || fail "$name/$pt: decrypt of jose's compact JWE"
        cmp -s "$work/out" "$work/$pt.txt" || fail "$name/$pt: plaintext of jose's compact JWE"
        n=$((n + 1))
    done
    # A modified tag (jose's JWE) is refused with the verification exit code.
    sed 's/"tag":"A/"tag":"B/; t; s/"tag":"./"tag":"A/' "$work/theirs.jwe" >"$work/bad.jwe"
    cmp -s "$work/bad.jwe" "$work/theirs.jwe" && fail "$name: tag not modified"
    rc=0
    "$SK" jwe decrypt --key "$work/$name.jwk" "$work/bad.jwe" >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" = 2 ] || fail "$name: modified tag: exit $rc"
    grep -q 'jwe.tag' "$work/err" || fail "$name: modified tag: message"
done
# Another key of the same kind: refused (exit 2), not garbage.
"$SK" jwe keygen --crv P-256 --out "$work/other.jwk" >/dev/null
"$SK" jwe encrypt --to "$work/p256.pub" "$work/res.txt" >"$work/ours.jwe"
rc=0
"$SK" jwe decrypt --key "$work/other.jwk" "$work/ours.jwe" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "wrong key: exit $rc"

# RSA-AES key wrap, both directions, every algorithm.
head -c 1217 /dev/urandom >"$work/pkcs8.bin"
for enc in CKM_RSA_AES_KEY_WRAP RSA_AES_KEY_WRAP_256 RSA_AES_KEY_WRAP_384; do
    for key in rsa2048 rsa3072; do
        "$SK" jwe wrap --to "$work/$key.pub" --enc "$enc" "$work/pkcs8.bin" >"$work/w.txt" \
            || fail "$enc/$key: wrap"
        jose unwrap "$work/$key.jwk" "$enc" "$work/w.txt" "$work/pkcs8.bin" \
            || fail "$enc/$key: node unwrap of our wrap"
        jose wrap "$work/$key.pub" "$enc" "$work/pkcs8.bin" "$work/w2.txt" \
            || fail "$enc/$key: node wrap"
        "$SK" jwe unwrap --key "$work/$key.jwk" --enc "$enc" "$work/w2.txt" --out "$work/out" \
            || fail "$enc/$key: unwrap of node's wrap"
        cmp -s "$work/out" "$work/pkcs8.bin" || fail "$enc/$key: unwrapped key differs"
        n=$((n + 1))
    done
done
# The wrong OAEP hash is refused.
rc=0
"$SK" jwe unwrap --key "$work/rsa2048.jwk" --enc RSA_AES_KEY_WRAP_256 "$work/w2.txt" \
    >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unwrap with another hash: exit $rc"

# Keys the KBS protocol refuses, each named: RSA1_5, P-384 (a real one from node).
sed 's/"alg":"RSA-OAEP-256"/"alg":"RSA1_5"/' "$work/rsa2048.pub" >"$work/rsa1_5.pub"
rc=0
"$SK" jwe encrypt --to "$work/rsa1_5.pub" "$work/res.txt" >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "RSA1_5: exit $rc"
grep -q 'tee-pubkey.alg' "$work/err" && grep -q 'padding-oracle' "$work/err" \
    || { cat "$work/err"; fail "RSA1_5: message"; }
jose p384 "$work/p384.pub"
rc=0
"$SK" jwe encrypt --to "$work/p384.pub" "$work/res.txt" >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "P-384: exit $rc"
grep -q 'tee-pubkey.crv' "$work/err" || { cat "$work/err"; fail "P-384: message"; }

# Help and usage.
"$SK" jwe encrypt --help | grep -q -- '--to' || fail "encrypt --help"
rc=0
"$SK" jwe decrypt "$work/ours.jwe" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "decrypt without --key: exit $rc"

echo "jwe_jose: ok ($n interop checks)"
