# Sourced by .ci/run. The exec/env/serve tests need: real shells that evaluate `credproc env`
# output (bash, zsh, dash, fish), the AWS SDK for Go v1 built offline in GOPATH mode from Debian's
# package, and the AWS SDK for JavaScript v3 from npm (pinned by tests/sdk/js/package-lock.json).
apt_install bash zsh dash fish golang-go golang-github-aws-aws-sdk-go-dev
# Node.js and npm come with the machine image; Debian's are the fallback on a bare one.
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
(cd tests/sdk/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
