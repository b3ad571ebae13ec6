# Sourced by .ci/run. The PKCS#11 tests (issue 14) make a real SoftHSM2 token: softhsm2 for the
# token and softhsm2-util, gnutls-bin for p11tool (writes the certificates, as aws_signing_helper's
# Makefile does). python-pkcs11 comes with the test extra of pyproject.toml.
apt_install softhsm2 gnutls-bin
