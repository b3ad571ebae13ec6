// Builds the real aws_signing_helper (IAM Roles Anywhere credential helper) for the tests and the
// benchmark (issues 13, 14). This module only requires it and names its command as a tool; none
// of its code is in this repository. cgo (PKCS#11) is needed: gcc. Built by .ci/install.d/70-go.sh.
module credproc.test/go/signinghelper

go 1.24

tool github.com/aws/rolesanywhere-credential-helper

require (
	github.com/aws/aws-sdk-go v1.55.5 // indirect
	github.com/aws/rolesanywhere-credential-helper v1.4.0 // indirect
	github.com/google/go-tpm v0.3.3 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/jmespath/go-jmespath v0.4.0 // indirect
	github.com/miekg/pkcs11 v1.1.1 // indirect
	github.com/spf13/cobra v1.8.1 // indirect
	github.com/spf13/pflag v1.0.5 // indirect
	github.com/stefanberger/go-pkcs11uri v0.0.0-20230803200340-78284954bff6 // indirect
	golang.org/x/crypto v0.28.0 // indirect
	golang.org/x/net v0.30.0 // indirect
	golang.org/x/sys v0.26.0 // indirect
	golang.org/x/term v0.25.0 // indirect
)
