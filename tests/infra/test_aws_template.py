"""infra/aws/template.yaml: cfn-lint clean, and deployed by infra/aws/deploy (the command a user
runs) into moto's CloudFormation over HTTP, then read back through the AWS APIs.

moto 5.2's CloudFormation creates the KMS key and alias, the bucket (with its default
encryption), the log group, the SQS queue, both IAM roles with their inline policies and the
Lambda function. It skips, with a warning, AWS::Scheduler::Schedule, AWS::CloudWatch::Alarm,
AWS::S3::BucketPolicy, AWS::Lambda::EventInvokeConfig and AWS::SNS::Subscription, and ignores
the bucket's PublicAccessBlockConfiguration, OwnershipControls, LifecycleConfiguration and
BucketKeyEnabled. Those are checked on the template resolved for the same parameters
(template_model.py); the test below fails if moto starts deploying one of them, so that the
check can move to the deployed resource.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from handler.config.settings import Settings
from handler.config.values import env_name
from handler.observe.metrics import emf_line
from handler.observe.report import RunReport
from tests.infra.template_model import ROOT, TEMPLATE_PATH, Resolved

MOTO_CANNOT_DEPLOY = {
    "AWS::Scheduler::Schedule",
    "AWS::CloudWatch::Alarm",
    "AWS::S3::BucketPolicy",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::SNS::Subscription",
}
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-beat/sasl-AbCdEf"
CLUSTER_ID = "logs/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
MSK_CLUSTER = f"arn:aws:kafka:us-east-1:123456789012:cluster/{CLUSTER_ID}"
FULL = {
    "BootstrapServers": "b-1.logs.example:9098,b-2.logs.example:9098",
    "GroupId": "kafka-beat-auth",
    "Topics": "auth,dns",
    "SecurityProtocol": "SASL_SSL",
    "SaslMechanism": "SCRAM-SHA-512",
    "SaslUsername": "kafka-beat",
    "ScheduleExpression": "rate(10 minutes)",
    "Parallelism": "3",
    "ShardPartitions": "auth:0-5|auth:6-11|dns:0-3",
    "MemorySize": "1536",
    "TimeoutSeconds": "600",
    "MaxRecords": "500000",
    "Prefix": "security/kafka",
    "KafkaSecretArn": f"{SECRET}#password",
    "MskClusterArn": MSK_CLUSTER,
    "SubnetIds": "subnet-0a1,subnet-0b2",
    "SecurityGroupIds": "sg-0c3",
    "LogRetentionDays": "90",
    "ExpireAfterDays": "400",
}
# The actions the security section allows, and only these, plus what running at all needs:
# writing the function's logs, reporting failed runs to the dead-letter queue, and (in a VPC)
# the network interfaces Lambda creates with the function's role.
ALLOWED_ACTIONS = {
    "s3:PutObject",
    "s3:GetObject",
    "s3:AbortMultipartUpload",
    "s3:ListBucket",
    "kms:GenerateDataKey",
    "kms:Decrypt",
    "secretsmanager:GetSecretValue",
    "kafka-cluster:Connect",
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:ReadData",
    "kafka-cluster:DescribeGroup",
    "kafka-cluster:AlterGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


def test_template_is_cfn_lint_clean_including_informational_rules() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--include-checks", "I", "--", str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


@pytest.fixture
def aws(s3_server, monkeypatch) -> Any:
    """Clients of moto's server (it serves every service, not only S3)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=s3_server.endpoint, region_name="us-east-1")

    return client


def deploy(stack: str, parameters: dict[str, str], zip_path: str) -> dict[str, str]:
    arguments = [str(ROOT / "infra" / "aws" / "deploy"), "--stack-name", stack, "--zip", zip_path]
    for name, value in parameters.items():
        arguments += ["--parameter", f"{name}={value}"]
    result = subprocess.run(
        arguments, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def role_policy(aws: Any, role_arn: str, name: str) -> list[dict[str, Any]]:
    document = aws("iam").get_role_policy(
        RoleName=role_arn.rsplit("/", maxsplit=1)[-1], PolicyName=name
    )["PolicyDocument"]
    if isinstance(document, str):
        # moto keeps a CloudFormation inline policy as the Python repr of its dict, and keeps
        # AWS::NoValue as None where CloudFormation drops the list item.
        document = ast.literal_eval(document)
    return [statement for statement in document["Statement"] if statement is not None]


def as_set(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def test_full_stack_deploys_into_moto_with_its_key_properties(aws, lambda_zip) -> None:
    outputs = deploy("kb-full", FULL, lambda_zip["zip"])
    bucket, key_arn = outputs["BucketName"], outputs["DataKeyArn"]

    stack = aws("cloudformation").describe_stacks(StackName="kb-full")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    summaries = aws("cloudformation").list_stack_resources(StackName="kb-full")[
        "StackResourceSummaries"
    ]
    deployed = {s["LogicalResourceId"]: s["ResourceType"] for s in summaries if s["ResourceType"]}
    expected = Resolved(FULL).resources()
    assert deployed == {
        logical_id: resource["Type"]
        for logical_id, resource in expected.items()
        if resource["Type"] not in MOTO_CANNOT_DEPLOY
    }, "moto deploys a type it did not before: check that resource here, not in the model"

    encryption = aws("s3").get_bucket_encryption(Bucket=bucket)
    default = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert default["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": key_arn,
    }
    # Not DescribeKey: moto's server fails it on keys created by its CloudFormation (it keeps
    # the key policy as a dict and then parses it as JSON).
    key_id = key_arn.rsplit("/", maxsplit=1)[-1]
    assert key_arn in {key["KeyArn"] for key in aws("kms").list_keys()["Keys"]}
    assert aws("kms").get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in aws("kms").list_aliases()["Aliases"]}
    assert aliases["alias/kafka-beat/kb-full"] == key_id

    function = aws("lambda").get_function_configuration(FunctionName=outputs["FunctionName"])
    assert function["Runtime"] == "python3.14"
    assert function["Handler"] == "handler.lambda_function.lambda_handler"
    assert (function["MemorySize"], function["Timeout"]) == (1536, 600)
    assert sorted(function["VpcConfig"]["SubnetIds"]) == ["subnet-0a1", "subnet-0b2"]
    assert function["VpcConfig"]["SecurityGroupIds"] == ["sg-0c3"]
    variables = {k: str(v) for k, v in function["Environment"]["Variables"].items()}
    assert variables == {
        "KAFKA_BEAT_BOOTSTRAP_SERVERS": FULL["BootstrapServers"],
        "KAFKA_BEAT_GROUP_ID": "kafka-beat-auth",
        "KAFKA_BEAT_TOPICS": "auth,dns",
        "KAFKA_BEAT_DESTINATION": f"s3://{bucket}/security/kafka",
        "KAFKA_BEAT_S3_EXPECTED_BUCKET_OWNER": "123456789012",
        "KAFKA_BEAT_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_BEAT_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_BEAT_SASL_USERNAME": "kafka-beat",
        "KAFKA_BEAT_SASL_PASSWORD": f"{SECRET}#password",
        "KAFKA_BEAT_COMPRESSION": "gzip",
        "KAFKA_BEAT_MAX_RECORDS": "500000",
        "KAFKA_BEAT_LAMBDA_MARGIN_SECONDS": "20",
    }
    assert Settings(
        **{name.removeprefix("KAFKA_BEAT_").lower(): v for name, v in variables.items()}
    )

    statements = {s["Sid"]: s for s in role_policy(aws, function["Role"], "collect")}
    actions = set().union(*(as_set(s["Action"]) for s in statements.values()))
    assert actions == ALLOWED_ACTIONS
    assert all(s["Effect"] == "Allow" for s in statements.values())
    objects = statements["WriteObjectsUnderThePrefix"]
    assert objects["Resource"] == f"arn:aws:s3:::{bucket}/security/kafka/*"
    listing = statements["ListOnlyThePrefix"]
    assert (as_set(listing["Action"]), listing["Resource"]) == (
        {"s3:ListBucket"},
        f"arn:aws:s3:::{bucket}",
    )
    assert listing["Condition"] == {
        "StringLikeIfExists": {"s3:prefix": ["security/kafka/*", "security/kafka"]}
    }
    assert statements["UseTheDataKey"]["Resource"] == key_arn
    assert statements["ReadTheKafkaSecret"]["Resource"] == SECRET
    assert statements["ConnectToMsk"]["Resource"] == MSK_CLUSTER
    prefix = "arn:aws:kafka:us-east-1:123456789012"
    assert statements["ReadMskTopics"]["Resource"] == f"{prefix}:topic/{CLUSTER_ID}/*"
    assert statements["CommitToTheMskGroup"]["Resource"] == (
        f"{prefix}:group/{CLUSTER_ID}/kafka-beat-auth"
    )
    log_group = outputs["LogGroupName"]
    assert statements["WriteLogs"]["Resource"].startswith(
        f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group}"
    )
    queue_arn = aws("sqs").get_queue_attributes(
        QueueUrl=outputs["DeadLetterQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert statements["ReportFailedRuns"]["Resource"] == queue_arn["QueueArn"]
    assert queue_arn["MessageRetentionPeriod"] == "1209600"
    wildcard = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert wildcard == ["AttachToTheVpc"], "only ENI actions, which have no resource ARNs"

    groups = aws("logs").describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    assert groups[0]["retentionInDays"] == 90

    scheduler_role = next(
        s["PhysicalResourceId"] for s in summaries if s["LogicalResourceId"] == "SchedulerRole"
    )
    trust = aws("iam").get_role(RoleName=scheduler_role)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    starts = role_policy(aws, f"role/{scheduler_role}", "start-runs")
    assert {(frozenset(as_set(s["Action"])), s["Resource"]) for s in starts} == {
        (frozenset({"lambda:InvokeFunction"}), function["FunctionArn"]),
        (frozenset({"sqs:SendMessage"}), queue_arn["QueueArn"]),
    }


def test_minimal_stack_grants_no_optional_access(aws, lambda_zip) -> None:
    parameters = {"BootstrapServers": "kafka:9092", "GroupId": "g", "ShardPartitions": "auth:0-1"}
    outputs = deploy("kb-minimal", parameters, lambda_zip["zip"])

    function = aws("lambda").get_function_configuration(FunctionName=outputs["FunctionName"])
    statements = role_policy(aws, function["Role"], "collect")
    assert [s["Sid"] for s in statements] == [
        "WriteObjectsUnderThePrefix",
        "ListOnlyThePrefix",
        "UseTheDataKey",
        "WriteLogs",
        "ReportFailedRuns",
    ]
    assert not function.get("VpcConfig", {}).get("SubnetIds")
    variables = function["Environment"]["Variables"]
    for absent in ("TOPICS", "MAX_RECORDS", "SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD"):
        assert f"KAFKA_BEAT_{absent}" not in variables
    assert variables["KAFKA_BEAT_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert variables["KAFKA_BEAT_DESTINATION"] == f"s3://{outputs['BucketName']}/kafka"


def schedules(resolved: Resolved) -> list[dict[str, Any]]:
    resources = resolved.resources()
    return [
        resources[name]["Properties"]
        for name in sorted(resources)
        if resources[name]["Type"] == "AWS::Scheduler::Schedule"
    ]


def test_shards_get_one_schedule_each_with_retries_and_dead_letters() -> None:
    runs = schedules(Resolved(FULL))

    assert [json.loads(run["Target"]["Input"]) for run in runs] == [
        {"partitions": "auth:0-5"},
        {"partitions": "auth:6-11"},
        {"partitions": "dns:0-3"},
    ]
    for run in runs:
        assert run["ScheduleExpression"] == "rate(10 minutes)"
        assert run["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert run["State"] == "ENABLED"
        assert run["Target"]["Arn"] == "<Function.Arn>"
        assert run["Target"]["RoleArn"] == "<SchedulerRole.Arn>"
        assert run["Target"]["RetryPolicy"] == {
            "MaximumRetryAttempts": "3",
            "MaximumEventAgeInSeconds": 3600,
        }
        assert run["Target"]["DeadLetterConfig"] == {"Arn": "<DeadLetterQueue.Arn>"}


@pytest.mark.parametrize("workers", [1, 4, 8])
def test_group_workers_get_n_identical_schedules(workers: int) -> None:
    runs = schedules(Resolved({**FULL, "Parallelism": str(workers), "ShardPartitions": ""}))
    assert [run["Target"]["Input"] for run in runs] == ["{}"] * workers


def test_failed_runs_are_retried_then_reported_to_the_dead_letter_queue() -> None:
    config = Resolved(FULL).resources()["FunctionInvokeConfig"]["Properties"]
    assert config["MaximumRetryAttempts"] == "1"
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": "<DeadLetterQueue.Arn>"}}


def test_bucket_blocks_public_access_and_enforces_bucket_ownership() -> None:
    resources = Resolved(FULL).resources()
    bucket = resources["Bucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule == {
        "ServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": "<DataKey.Arn>",
        },
        "BucketKeyEnabled": True,
    }
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["expire"]["Status"] == "Enabled" and rules["expire"]["ExpirationInDays"] == "400"
    assert rules["expire"]["Prefix"] == "security/kafka/"
    assert rules["archive"]["Status"] == "Disabled"
    deny = resources["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    kept = Resolved({**FULL, "ExpireAfterDays": "0", "ArchiveAfterDays": "90"}).resources()
    rules = {r["Id"]: r for r in kept["Bucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire"]["Status"] == "Disabled" and rules["archive"]["Status"] == "Enabled"
    assert rules["archive"]["Transitions"] == [
        {"StorageClass": "GLACIER_IR", "TransitionInDays": "90"}
    ]


def test_alarms_watch_errors_dead_letters_and_the_handlers_own_lag_metric() -> None:
    resources = Resolved({**FULL, "AlarmEmail": "soc@example.com"}).resources()
    alarms = {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert alarms["ErrorsAlarm"]["Namespace"] == "AWS/Lambda"
    assert alarms["ErrorsAlarm"]["Dimensions"] == [{"Name": "FunctionName", "Value": "<Function>"}]
    assert alarms["DeadLettersAlarm"]["Namespace"] == "AWS/SQS"
    emitted = json.loads(emf_line(RunReport(run_id="r", destination="d"), "kafka-beat-auth"))
    directive = emitted["_aws"]["CloudWatchMetrics"][0]
    names = {metric["Name"] for metric in directive["Metrics"]}
    for name in ("LagAlarm", "RetentionHeadroomAlarm"):
        alarm = alarms[name]
        assert alarm["Namespace"] == directive["Namespace"]
        assert alarm["MetricName"] in names
        assert alarm["Dimensions"] == [{"Name": "Group", "Value": "kafka-beat-auth"}]
        assert directive["Dimensions"] == [["Group"]]
    assert alarms["LagAlarm"]["MetricName"] == "Lag"
    assert all(alarm["AlarmActions"] == ["<AlarmTopic>"] for alarm in alarms.values())
    assert resources["AlarmSubscription"]["Properties"]["Endpoint"] == "soc@example.com"


def test_template_sets_only_real_settings() -> None:
    function = Resolved(FULL).template["Resources"]["Function"]["Properties"]
    known = {env_name(field) for field in Settings.model_fields}
    assert set(function["Environment"]["Variables"]) <= known
