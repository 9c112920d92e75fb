"""Deploy Kafka Beat to AWS in one command: build the Lambda zip for the stack's runtime, upload
it (content-addressed) to an artifact bucket, and create or update the CloudFormation stack
from infra/aws/template.yaml. Uses the ordinary AWS credential chain (AWS_PROFILE, SSO, a
role); `AWS_ENDPOINT_URL` points it elsewhere (the tests use moto's server).

Run through `infra/aws/deploy`; see infra/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lambda_zip import BuildError, build, default_zip_path

TEMPLATE = Path(__file__).resolve().parent / "template.yaml"
_FAILED = ("CREATE_FAILED", "UPDATE_FAILED", "ROLLBACK_IN_PROGRESS", "DELETE_FAILED")


class DeployError(Exception):
    """The deployment stopped; the message says why and what to do."""


def _parameters(arguments: argparse.Namespace) -> dict[str, str]:
    given = {
        "BootstrapServers": arguments.bootstrap_servers,
        "GroupId": arguments.group_id,
        "Topics": arguments.topics,
        "ScheduleExpression": arguments.schedule,
        "Runtime": arguments.runtime,
        "Architecture": arguments.arch,
    }
    for item in arguments.parameter:
        name, separator, value = item.partition("=")
        if not separator:
            raise DeployError(f"--parameter '{item}' should be Name=Value")
        given[name] = value
    return {name: value for name, value in given.items() if value is not None}


def _upload_zip(
    session: boto3.session.Session, bucket: str | None, zip_path: Path
) -> tuple[str, str]:
    account = session.client("sts").get_caller_identity()["Account"]
    region = session.region_name
    bucket = bucket or f"kafka-beat-artifacts-{account}-{region}"
    s3 = session.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        options: dict[str, Any] = {}
        if region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(Bucket=bucket, **options)
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        print(f"created artifact bucket {bucket}", file=sys.stderr)
    data = zip_path.read_bytes()
    # The key names the content: a changed zip is a changed CodeS3Key, so CloudFormation
    # updates the function's code; an unchanged one leaves the stack alone.
    key = f"kafka-beat/lambda-{hashlib.sha256(data).hexdigest()[:20]}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return bucket, key


def _stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(cloudformation.describe_stacks(StackName=name)["Stacks"][0])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _failure_reasons(cloudformation: Any, name: str) -> list[str]:
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    return [
        f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}"
        for event in events
        if event["ResourceStatus"] in _FAILED and event.get("ResourceStatusReason")
    ][:10]


def deploy_stack(
    session: boto3.session.Session, name: str, parameters: dict[str, str]
) -> dict[str, str]:
    cloudformation = session.client("cloudformation")
    existing = _stack(cloudformation, name)
    if existing and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"stack {name} failed to create before and is in ROLLBACK_COMPLETE; delete it "
            f"(aws cloudformation delete-stack --stack-name {name}) and deploy again"
        )
    values = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": TEMPLATE.read_text(),
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "app", "Value": "kafka-beat"}],
    }
    try:
        if existing is None:
            cloudformation.create_stack(Parameters=values, **request)
            waiter = cloudformation.get_waiter("stack_create_complete")
        else:
            # Parameters not given this time keep the values the stack has, not the defaults.
            # Passed as values rather than UsePreviousValue: the template has no NoEcho
            # parameter, and moto's update only knows previous values that were passed.
            kept = [
                {"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
                for p in existing.get("Parameters", [])
                if p["ParameterKey"] not in parameters
            ]
            cloudformation.update_stack(Parameters=values + kept, **request)
            waiter = cloudformation.get_waiter("stack_update_complete")
        waiter.wait(StackName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 360})
    except ClientError as exc:
        if "No updates are to be performed" not in str(exc):
            raise DeployError(f"CloudFormation refused the stack: {exc}") from exc
        print(f"stack {name} is already up to date", file=sys.stderr)
    except WaiterError as exc:
        reasons = "\n  ".join(_failure_reasons(cloudformation, name)) or str(exc)
        raise DeployError(f"stack {name} did not deploy:\n  {reasons}") from exc
    stack = _stack(cloudformation, name) or {}
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="infra/aws/deploy",
        description="Build the Lambda zip, upload it and create or update the Kafka Beat stack. "
        "Any template parameter can be set with --parameter Name=Value "
        "(see infra/aws/template.yaml); on an update, parameters not given keep their values.",
    )
    parser.add_argument("--stack-name", default="kafka-beat")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    parser.add_argument("--bootstrap-servers", help="brokers, comma-separated host:port")
    parser.add_argument("--group-id", help="consumer group")
    parser.add_argument("--topics", help="topics, comma-separated")
    parser.add_argument("--schedule", help="e.g. 'rate(15 minutes)' or 'cron(0/10 * * * ? *)'")
    parser.add_argument("--runtime", default="python3.14", help="Lambda runtime (python3.X)")
    parser.add_argument("--arch", default="x86_64", choices=["x86_64", "arm64"])
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
    )
    parser.add_argument("--artifact-bucket", help="default: kafka-beat-artifacts-ACCOUNT-REGION")
    parser.add_argument("--zip", type=Path, help="a zip built before (default: build one now)")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        help="an optional extra for the built zip, e.g. parquet for KAFKA_BEAT_FORMAT=parquet",
    )
    arguments = parser.parse_args(argv)
    try:
        session = boto3.session.Session(region_name=arguments.region)
        if not session.region_name:
            raise DeployError("no AWS region: pass --region or set AWS_REGION")
        parameters = _parameters(arguments)
        zip_path = arguments.zip
        if zip_path is None:
            version = arguments.runtime.removeprefix("python")
            zip_path = default_zip_path(version, arguments.arch, arguments.extra)
            print(f"building {zip_path.name} …", file=sys.stderr)
            build(zip_path, version, arguments.arch, extras=arguments.extra)
        bucket, key = _upload_zip(session, arguments.artifact_bucket, zip_path)
        parameters.update(CodeS3Bucket=bucket, CodeS3Key=key)
        started = time.monotonic()
        outputs = deploy_stack(session, arguments.stack_name, parameters)
    except (DeployError, BuildError) as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"deploy: AWS refused: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"stack": arguments.stack_name, **outputs}))
    print(
        f"deployed in {time.monotonic() - started:.0f}s. Run a collection now with:\n"
        f"  scripts/trigger --function {outputs.get('FunctionName', '<FunctionName>')}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
