/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the files of src/crypto/ only: the OpenSSL object behind an sk_cert. */
#ifndef SEKISHO_CRYPTO_X509_PRIV_H
#define SEKISHO_CRYPTO_X509_PRIV_H

#include <openssl/x509.h>

#include "sekisho/x509.h"

X509 *sk_cert_x509(const sk_cert *cert);

#endif
