# Sourced by .ci/run (set -euo pipefail). Builds the real Go programs the tests compare credproc
# with (issues 13, 14) from the modules under tests/go/, each of which only requires the program at
# a version pinned by its go.mod/go.sum (none of their code is in this repository).
#
# Everything is cached on the machine under $CREDPROC_GO_CACHE (default /var/cache/credproc-go):
#   mod/                            GOMODCACHE: the downloaded modules
#   build/                          GOCACHE: compiled packages
#   <name>-<version>/<binary>       each built program; its version is read from its go.mod, so a
#                                   version bump builds anew and a warm machine builds nothing
# and exports the path of each binary for the tests (see also README.md):
#   CREDPROC_TEST_DAPRD  CREDPROC_TEST_SIGNING_HELPER  CREDPROC_TEST_AWS_VAULT  CREDPROC_TEST_GRANTED
#   CREDPROC_TEST_GO_SDKV2  CREDPROC_TEST_DAPR_CLI  CREDPROC_TEST_SHOWENV_WINDOWS (a tiny .exe for wine)
#   CREDPROC_TEST_DAPRD_WINDOWS (daprd.exe, run under wine)
# A build that fails fails CI. Builds run under `nice -n 19`: the machine is shared.
CREDPROC_GO_CACHE=${CREDPROC_GO_CACHE:-/var/cache/credproc-go}
export CREDPROC_GO_CACHE

_go_pick() {
  # The machine's own Go (1.26.x) first; Debian's golang-go (30-sdks.sh) is older than dapr needs.
  local g
  for g in /usr/local/go/bin/go "$(command -v go 2>/dev/null || true)"; do
    [ -n "$g" ] && [ -x "$g" ] && { echo "$g"; return 0; }
  done
  echo "no Go toolchain on this machine: the tests/go builds need one" >&2
  return 1
}
GO_BIN=$(_go_pick)
mkdir -p "$CREDPROC_GO_CACHE/mod" "$CREDPROC_GO_CACHE/build"

# _go_mod_version DIR MODULE: the version DIR/go.mod requires of MODULE.
_go_mod_version() {
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod"
}

# _go_build NAME VERSION BINARY DIR PACKAGE [go build flags...]: build PACKAGE in module DIR into
# $CREDPROC_GO_CACHE/NAME-VERSION/BINARY unless it is there; prints the path.
_go_build() {
  local name=$1 version=$2 binary=$3 dir=$4 package=$5
  shift 5
  local out="$CREDPROC_GO_CACHE/$name-$version/$binary" start
  if [ ! -x "$out" ]; then
    mkdir -p "$(dirname "$out")"
    start=$(date +%s)
    echo "   building $name $version (cold: this can take long)" >&2
    # The Go settings stay inside this subshell: later steps and the tests keep the machine's own.
    (cd "$dir" && export GOMODCACHE="$CREDPROC_GO_CACHE/mod" GOCACHE="$CREDPROC_GO_CACHE/build" \
      GOFLAGS="-buildvcs=false -mod=readonly" && nice -n 19 "$GO_BIN" build -trimpath -o "$out.tmp.$$" "$@" "$package") >&2 \
      || { echo "   building $name $version failed" >&2; rm -f "$out.tmp.$$"; return 1; }
    mv -f "$out.tmp.$$" "$out" || return 1
    echo "   built $name $version in $(($(date +%s) - start)) s" >&2
  fi
  echo "$out"
}

_go_root="$PWD/tests/go"
_v=$(_go_mod_version "$_go_root/daprd" github.com/dapr/dapr)
# daprd as dapr's Makefile builds it: the stable components (state.aws.dynamodb...) and its version.
# cgo is left at Go's default here (on where gcc is); dapr's releases build with CGO_ENABLED=0.
CREDPROC_TEST_DAPRD=$(_go_build daprd "$_v" daprd "$_go_root/daprd" github.com/dapr/dapr/cmd/daprd \
  -tags stablecomponents -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${_v#v}")

# daprd.exe for tests/test_wine_daprd.py (issue 13: daprd for Windows under wine, served by credproc
# exec --server). A second full compile of dapr, for GOOS=windows: about 14 minutes cold (856 s
# measured on 2 cores while the Linux daprd built beside it; the modules are the Linux build's and a
# few Windows-only ones), nothing on a warm machine (the binary is cached).
CREDPROC_TEST_DAPRD_WINDOWS=$(GOOS=windows GOARCH=amd64 CGO_ENABLED=0 _go_build daprd "$_v-windows-amd64" \
  daprd.exe "$_go_root/daprd" github.com/dapr/dapr/cmd/daprd \
  -tags stablecomponents -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${_v#v}")

_v=$(_go_mod_version "$_go_root/daprcli" github.com/dapr/cli)
# The Dapr CLI for the `dapr run` test. v1.12.0: the newest the proxy serves whole (tests/go/daprcli).
CREDPROC_TEST_DAPR_CLI=$(_go_build dapr-cli "$_v" dapr "$_go_root/daprcli" github.com/dapr/cli \
  -ldflags "-s -w -X main.version=${_v#v}")

_v=$(_go_mod_version "$_go_root/signinghelper" github.com/aws/rolesanywhere-credential-helper)
# cgo (PKCS#11) is required: gcc and libc headers.
command -v gcc >/dev/null || apt_install gcc libc6-dev
CREDPROC_TEST_SIGNING_HELPER=$(CGO_ENABLED=1 _go_build aws_signing_helper "$_v" aws_signing_helper \
  "$_go_root/signinghelper" github.com/aws/rolesanywhere-credential-helper \
  -ldflags "-s -w -X github.com/aws/rolesanywhere-credential-helper/cmd.Version=${_v#v}")

_v=$(_go_mod_version "$_go_root/awsvault" github.com/99designs/aws-vault/v7)
CREDPROC_TEST_AWS_VAULT=$(_go_build aws-vault "$_v" aws-vault "$_go_root/awsvault" \
  github.com/99designs/aws-vault/v7 -ldflags "-s -w -X main.Version=$_v")

_v=$(_go_mod_version "$_go_root/granted" github.com/common-fate/granted)
# Built with its version left "dev" (no -X build.Version): a release version would make every run
# ask the vendor's update server. Tests set GRANTED_DISABLE_UPDATE_CHECK=true all the same.
CREDPROC_TEST_GRANTED=$(_go_build granted "$_v" granted "$_go_root/granted" \
  github.com/common-fate/granted/cmd/granted -ldflags "-s -w")

# Our own client: keyed by its sources, not a version.
_v=$(cat "$_go_root/sdkv2/go.mod" "$_go_root/sdkv2/go.sum" "$_go_root/sdkv2"/*.go | sha256sum | cut -c1-12)
CREDPROC_TEST_GO_SDKV2=$(_go_build sdkv2 "$_v" sdkv2 "$_go_root/sdkv2" . -ldflags "-s -w")

# A tiny Windows program for the wine tests (tests/test_wine_cmd.py): what a child started by cmd.exe
# sees. Keyed by its sources; it runs under wine with the ProcessPrng shim of 55-wine.sh.
_v=$(cat "$_go_root/showenv/go.mod" "$_go_root/showenv"/*.go | sha256sum | cut -c1-12)
CREDPROC_TEST_SHOWENV_WINDOWS=$(GOOS=windows GOARCH=amd64 CGO_ENABLED=0 _go_build showenv "$_v-windows-amd64" \
  showenv.exe "$_go_root/showenv" . -ldflags "-s -w")

export CREDPROC_TEST_DAPRD CREDPROC_TEST_DAPRD_WINDOWS CREDPROC_TEST_DAPR_CLI CREDPROC_TEST_SHOWENV_WINDOWS CREDPROC_TEST_SIGNING_HELPER CREDPROC_TEST_AWS_VAULT \
  CREDPROC_TEST_GRANTED CREDPROC_TEST_GO_SDKV2
unset _v _go_root
