"""The seed workflow with boto3 against a coffer server at $COFFER_ENDPOINT."""
import json
import os

import boto3
from botocore.exceptions import ClientError

sm = boto3.client("secretsmanager", endpoint_url=os.environ["COFFER_ENDPOINT"])

value = {"engine": "postgres", "host": "db.internal", "port": 5432, "username": "app", "password": "s3cr3t!"}
created = sm.create_secret(Name="team/svc/db", SecretString=json.dumps(value), Description="service db")
assert created["Name"] == "team/svc/db", created
assert created["ARN"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:team/svc/db-"), created
assert len(created["ARN"]) == len("arn:aws:secretsmanager:us-east-1:123456789012:secret:team/svc/db-") + 6
v1 = created["VersionId"]

got = sm.get_secret_value(SecretId="team/svc/db")
assert json.loads(got["SecretString"]) == value, got
assert got["VersionStages"] == ["AWSCURRENT"], got
assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
assert len(got["ResponseMetadata"]["RequestId"]) == 36

put = sm.put_secret_value(SecretId=created["ARN"], SecretString="rotated")
assert put["VersionStages"] == ["AWSCURRENT"], put
prev = sm.get_secret_value(SecretId="team/svc/db", VersionStage="AWSPREVIOUS")
assert prev["VersionId"] == v1 and json.loads(prev["SecretString"]) == value, prev

binary = sm.create_secret(Name="team/svc/blob", SecretBinary=b"\x00\x01footest")
assert sm.get_secret_value(SecretId=binary["ARN"])["SecretBinary"] == b"\x00\x01footest"

desc = sm.describe_secret(SecretId="team/svc/db")
assert desc["Description"] == "service db", desc
assert sorted(desc["VersionIdsToStages"][v1]) == ["AWSPREVIOUS"], desc
assert "KmsKeyId" not in desc and "Tags" not in desc and "DeletedDate" not in desc, desc

names = [s["Name"] for s in sm.list_secrets()["SecretList"]]
assert names == ["team/svc/db", "team/svc/blob"], names

versions = sm.list_secret_version_ids(SecretId="team/svc/db")["Versions"]
assert [v["VersionStages"] for v in versions] == [["AWSCURRENT"], ["AWSPREVIOUS"]], versions
assert all(v["KmsKeyIds"] == ["DefaultEncryptionKey"] for v in versions), versions

sm.tag_resource(SecretId="team/svc/db", Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "svc"}])
found = sm.list_secrets(Filters=[{"Key": "tag-value", "Values": ["prod"]}, {"Key": "description", "Values": ["SERVICE"]}])["SecretList"]
assert [s["Name"] for s in found] == ["team/svc/db"], found
assert sm.list_secrets(Filters=[{"Key": "name", "Values": ["!team/svc/d"]}])["SecretList"][0]["Name"] == "team/svc/blob"
sm.untag_resource(SecretId="team/svc/db", TagKeys=["env", "team"])
assert sm.describe_secret(SecretId="team/svc/db")["Tags"] == []

pages = list(sm.get_paginator("list_secrets").paginate(PaginationConfig={"PageSize": 1}))
assert [s["Name"] for p in pages for s in p["SecretList"]] == ["team/svc/db", "team/svc/blob"], pages

pw = sm.get_random_password(PasswordLength=40, ExcludePunctuation=True)["RandomPassword"]
assert len(pw) == 40 and pw.isalnum(), pw

# Debian's boto3 (1.26) predates BatchGetSecretValue (2023); newer ones have it.
if hasattr(sm, "batch_get_secret_value"):
    batch = sm.batch_get_secret_value(SecretIdList=["team/svc/db", "nothing"])
    assert [v["Name"] for v in batch["SecretValues"]] == ["team/svc/db"], batch
    assert batch["Errors"][0]["ErrorCode"] == "ResourceNotFoundException", batch

deleted = sm.delete_secret(SecretId="team/svc/db", RecoveryWindowInDays=7)
assert "DeletionDate" in deleted
try:
    sm.get_secret_value(SecretId="team/svc/db")
    raise AssertionError("read of a deleted secret succeeded")
except ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidRequestException", e.response
    assert e.response["Error"]["Message"] == "You can't perform this operation on the secret because it was marked for deletion.", e.response
sm.restore_secret(SecretId="team/svc/db")
assert sm.get_secret_value(SecretId="team/svc/db")["SecretString"] == "rotated"

sm.delete_secret(SecretId="team/svc/db", ForceDeleteWithoutRecovery=True)
try:
    sm.describe_secret(SecretId="team/svc/db")
    raise AssertionError("describe of a force-deleted secret succeeded")
except ClientError as e:
    assert e.response["Error"]["Code"] == "ResourceNotFoundException", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400

print("boto3 workflow ok")
