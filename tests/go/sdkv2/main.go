// Command sdkv2 resolves credentials with the AWS SDK for Go v2's default chain and prints what it
// got as one JSON line per resolution, so tests can compare it with what credproc resolved.
//
//	sdkv2 identity        resolve once and call STS GetCallerIdentity (AWS_ENDPOINT_URL_STS may point it at a local server)
//	sdkv2 refresh N [MS]  resolve N times, dropping the SDK's cached credentials before each one so
//	                      every resolution asks the provider again (for exec --server), MS milliseconds apart
//	sdkv2 keys            resolve once, no call
//
// Secrets are never printed: only the access key ID, the expiry and the provider's source name.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

type resolution struct {
	AccessKeyID string `json:"access_key_id"`
	Source      string `json:"source"`
	CanExpire   bool   `json:"can_expire"`
	Expires     string `json:"expires,omitempty"`
	Account     string `json:"account,omitempty"`
	Arn         string `json:"arn,omitempty"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sdkv2: "+format+"\n", args...)
	os.Exit(1)
}

func emit(creds aws.Credentials) resolution {
	r := resolution{AccessKeyID: creds.AccessKeyID, Source: creds.Source, CanExpire: creds.CanExpire}
	if creds.CanExpire {
		r.Expires = creds.Expires.UTC().Format(time.RFC3339)
	}
	return r
}

func printLine(r resolution) {
	line, err := json.Marshal(r)
	if err != nil {
		fail("%v", err)
	}
	fmt.Println(string(line))
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: sdkv2 identity | keys | refresh N [MS]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail("load config: %v", err)
	}
	switch os.Args[1] {
	case "keys":
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			fail("retrieve: %v", err)
		}
		printLine(emit(creds))
	case "identity":
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			fail("retrieve: %v", err)
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			fail("GetCallerIdentity: %v", err)
		}
		r := emit(creds)
		r.Account, r.Arn = aws.ToString(out.Account), aws.ToString(out.Arn)
		printLine(r)
	case "refresh":
		if len(os.Args) < 3 {
			fail("usage: sdkv2 refresh N [MS]")
		}
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 1 {
			fail("refresh count must be a positive number, got %q", os.Args[2])
		}
		pause := time.Duration(0)
		if len(os.Args) > 3 {
			ms, err := strconv.Atoi(os.Args[3])
			if err != nil || ms < 0 {
				fail("pause must be milliseconds, got %q", os.Args[3])
			}
			pause = time.Duration(ms) * time.Millisecond
		}
		cache, ok := cfg.Credentials.(*aws.CredentialsCache)
		if !ok {
			fail("the default chain gave %T, not a credentials cache", cfg.Credentials)
		}
		for i := 0; i < n; i++ {
			if i > 0 && pause > 0 {
				time.Sleep(pause)
			}
			cache.Invalidate()
			creds, err := cache.Retrieve(ctx)
			if err != nil {
				fail("retrieve %d: %v", i+1, err)
			}
			printLine(emit(creds))
		}
	default:
		fail("unknown mode %q", os.Args[1])
	}
}
