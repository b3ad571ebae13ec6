// Calls STS GetCallerIdentity with the AWS SDK for JavaScript v3's default credential chain,
// CALLS times, PAUSE_MS milliseconds apart, printing one JSON line per call.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";

const calls = Number(process.env.CALLS || 1);
const pause = Number(process.env.PAUSE_MS || 0);
const credentials = fromNodeProviderChain();
const client = new STSClient({ endpoint: process.env.AWS_ENDPOINT_URL_STS, credentials });

for (let i = 0; i < calls; i++) {
  const used = await client.config.credentials();
  const who = await client.send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ key: used.accessKeyId, arn: who.Arn }));
  await new Promise((resolve) => setTimeout(resolve, pause));
}
