"""The Quick start demo: credproc's main job with no AWS account.

Starts moto's STS server on 127.0.0.1, writes a two-hop assume-role chain into a throwaway HOME,
runs ``credproc credential-process`` cold and then from the cache, and lets boto3 use it through a
``credential_process`` line, exactly as a user's config would. Run: ``python -m tests.demo``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.moto_sts import MotoSTS

CONFIG = """\
[profile base]
region = us-east-1

[profile middle]
role_arn = arn:aws:iam::111111111111:role/middle
source_profile = base

[profile top]
role_arn = arn:aws:iam::222222222222:role/top
source_profile = middle

[profile work]
credential_process = {python} -m credproc credential-process --profile top
region = us-east-1
"""
CREDENTIALS = """\
[base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="credproc-demo-") as home, MotoSTS() as sts:
        aws = Path(home, ".aws")
        aws.mkdir()
        (aws / "config").write_text(CONFIG.format(python=sys.executable))
        (aws / "credentials").write_text(CREDENTIALS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=home, CREDPROC_CACHE_DIR=str(Path(home, "cache")), AWS_ENDPOINT_URL_STS=sts.url)
        # The config the demo uses, shown in full: its file is a temporary one, deleted on exit.
        print(f"moto STS on {sts.url}; the config used (a temporary ~/.aws/config):\n")
        print((aws / "config").read_text().rstrip() + "\n")
        for label in ("cold", "cache hit"):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "credproc", "credential-process", "--profile", "top"],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            ms = (time.perf_counter() - started) * 1000
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return done.returncode
            creds = json.loads(done.stdout)
            print(f"credproc credential-process --profile top ({label}, {ms:.0f} ms):")
            print(f"  AccessKeyId={creds['AccessKeyId']} Expiration={creds['Expiration']}")
        print(f"upstream calls: {dict(sts.calls)}  (one AssumeRole per hop, none for the hit)\n")
        probe = (
            "import boto3; s = boto3.Session(profile_name='work');"
            "print(s.client('sts').get_caller_identity()['Arn'])"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False
        )
        print(f"boto3 through credential_process: {done.stdout.strip() or done.stderr.strip()}")
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
