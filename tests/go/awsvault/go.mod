// Builds the real aws-vault for the benchmark (issue 13). This module only requires it and names
// its command as a tool; none of its code is in this repository. The maintained fork
// (github.com/byteness/aws-vault/v7: v7.13.0 is served) cannot be built here: the Go module proxy
// refuses every version of its keyring module (github.com/byteness/keyring v1.8.1 to v1.12.3), so
// this is the original github.com/99designs/aws-vault/v7 at its last release, v7.2.0, whose
// keyring is served. Built by .ci/install.d/70-go.sh.
module credproc.test/go/awsvault

go 1.24

tool github.com/99designs/aws-vault/v7

require (
	github.com/99designs/aws-vault/v7 v7.2.0 // indirect
	github.com/99designs/go-keychain v0.0.0-20191008050251-8e49817e8af4 // indirect
	github.com/99designs/keyring v1.2.2 // indirect
	github.com/alecthomas/kingpin/v2 v2.3.1 // indirect
	github.com/alecthomas/units v0.0.0-20211218093645-b94a6e3cc137 // indirect
	github.com/aws/aws-sdk-go-v2 v1.17.5 // indirect
	github.com/aws/aws-sdk-go-v2/config v1.18.15 // indirect
	github.com/aws/aws-sdk-go-v2/credentials v1.13.15 // indirect
	github.com/aws/aws-sdk-go-v2/feature/ec2/imds v1.12.23 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.1.29 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.4.23 // indirect
	github.com/aws/aws-sdk-go-v2/internal/ini v1.3.30 // indirect
	github.com/aws/aws-sdk-go-v2/service/iam v1.19.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/presigned-url v1.9.23 // indirect
	github.com/aws/aws-sdk-go-v2/service/sso v1.12.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/ssooidc v1.14.4 // indirect
	github.com/aws/aws-sdk-go-v2/service/sts v1.18.5 // indirect
	github.com/aws/smithy-go v1.13.5 // indirect
	github.com/danieljoos/wincred v1.1.2 // indirect
	github.com/dvsekhvalnov/jose2go v1.5.0 // indirect
	github.com/godbus/dbus v0.0.0-20190726142602-4481cbc300e2 // indirect
	github.com/gsterjov/go-libsecret v0.0.0-20161001094733-a6f4afe4910c // indirect
	github.com/mattn/go-isatty v0.0.17 // indirect
	github.com/mattn/go-tty v0.0.4 // indirect
	github.com/mtibben/percent v0.2.1 // indirect
	github.com/skratchdot/open-golang v0.0.0-20200116055534-eef842397966 // indirect
	github.com/xhit/go-str2duration v1.2.0 // indirect
	golang.org/x/sys v0.5.0 // indirect
	golang.org/x/term v0.5.0 // indirect
	gopkg.in/ini.v1 v1.67.0 // indirect
)
