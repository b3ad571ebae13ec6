// Calls STS GetCallerIdentity with the AWS SDK for Go's default credential chain, COUNT times,
// PAUSE_MS milliseconds apart, printing one JSON line per call: the access key used and the caller's ARN.
// Built offline in GOPATH mode against Debian's golang-github-aws-aws-sdk-go-dev.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/sts"
)

func main() {
	count, _ := strconv.Atoi(os.Getenv("CALLS"))
	pauseMs, _ := strconv.Atoi(os.Getenv("PAUSE_MS"))
	pause := time.Duration(pauseMs) * time.Millisecond
	sess, err := session.NewSession(&aws.Config{Endpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL_STS"))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "session:", err)
		os.Exit(2)
	}
	client := sts.New(sess)
	for i := 0; i < count; i++ {
		value, err := sess.Config.Credentials.Get()
		if err != nil {
			fmt.Fprintln(os.Stderr, "credentials:", err)
			os.Exit(3)
		}
		who, err := client.GetCallerIdentity(&sts.GetCallerIdentityInput{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "GetCallerIdentity:", err)
			os.Exit(4)
		}
		line, _ := json.Marshal(map[string]string{
			"key": value.AccessKeyID, "provider": value.ProviderName, "arn": aws.StringValue(who.Arn),
		})
		fmt.Println(string(line))
		time.Sleep(pause)
	}
}
