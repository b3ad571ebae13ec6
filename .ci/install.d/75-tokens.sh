# Sourced by .ci/run. The PKCS#11 tests (issue 14) make a real SoftHSM2 token: softhsm2 for the
# token and softhsm2-util, gnutls-bin for p11tool (writes the certificates, as aws_signing_helper's
# Makefile does). python-pkcs11 comes with the test extra of pyproject.toml.
apt_install softhsm2 gnutls-bin
# The TPM tests start swtpm (swtpm, swtpm-tools) and make keys with tpm2-tools. tpm2-pytss (the tpm
# extra) compiles against libtss2-dev, found through pkg-config, so it is installed here, after
# them, in every interpreter the suite runs on (.ci/run's pip install and 60-pythons.sh come first).
apt_install swtpm swtpm-tools tpm2-tools libtss2-dev pkg-config
python3 -m pip install -q 'tpm2-pytss>=2.1'
for _venv in .ci/work/py3.*; do
  [ -x "$_venv/bin/python" ] || continue
  "$_venv/bin/python" -m pip install -q 'tpm2-pytss>=2.1'  # a no-op once the cached venv has it
done
