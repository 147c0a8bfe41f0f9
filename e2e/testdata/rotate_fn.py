"""A rotation function for a generic secret, written as for AWS Lambda.

It follows AWS's SecretsManagerRotationTemplate: lambda_handler(event,
context) runs one of the four steps for event["SecretId"] and version
event["ClientRequestToken"]. The code is unchanged from what runs in Lambda;
coffer runs it through rotate_wrapper.py:

    coffer functions create --name rotate-generic \
        --exec '/usr/bin/python3 /path/to/rotate_wrapper.py'

coffer gives the process SECRETS_MANAGER_ENDPOINT (read here, as AWS's
templates do) and AWS_ENDPOINT_URL, AWS_REGION and temporary credentials
allowed on this one secret only.

The secret is a password: a bare string, or a JSON object whose "password"
member is replaced (other members kept). There is no external system:
setSecret stands for "change the password in the database" and writes a
marker file in MARKER_DIR when that variable is set (coffer functions
create --env MARKER_DIR=...); testSecret checks the marker and that the
pending value reads back.
"""

import json
import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]

    service_client = boto3.client("secretsmanager", endpoint_url=os.environ.get("SECRETS_MANAGER_ENDPOINT"))

    # Make sure the version is staged correctly.
    metadata = service_client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        logger.error("Secret %s is not enabled for rotation" % arn)
        raise ValueError("Secret %s is not enabled for rotation" % arn)
    versions = metadata["VersionIdsToStages"]
    if token not in versions:
        logger.error("Secret version %s has no stage for rotation of secret %s." % (token, arn))
        raise ValueError("Secret version %s has no stage for rotation of secret %s." % (token, arn))
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s." % (token, arn))
        return
    elif "AWSPENDING" not in versions[token]:
        logger.error("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))
        raise ValueError("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))

    _hang_once(step)
    if step == "createSecret":
        create_secret(service_client, arn, token)
    elif step == "setSecret":
        set_secret(service_client, arn, token)
    elif step == "testSecret":
        test_secret(service_client, arn, token)
    elif step == "finishSecret":
        finish_secret(service_client, arn, token)
    else:
        raise ValueError("Invalid step parameter")


def create_secret(service_client, arn, token):
    """Store a new password as the AWSPENDING version, unless there is one."""
    current = service_client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    try:
        service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        logger.info("createSecret: Successfully retrieved secret for %s." % arn)
        return
    except service_client.exceptions.ResourceNotFoundException:
        pass
    exclude_characters = os.environ.get("EXCLUDE_CHARACTERS", "/@\"'\\")
    passwd = service_client.get_random_password(ExcludeCharacters=exclude_characters)["RandomPassword"]
    value = passwd
    try:
        doc = json.loads(current["SecretString"])
        if isinstance(doc, dict):
            doc["password"] = passwd
            value = json.dumps(doc)
    except (KeyError, ValueError):
        pass
    service_client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=value, VersionStages=["AWSPENDING"])
    logger.info("createSecret: Successfully put secret for ARN %s and version %s." % (arn, token))


def _hang_once(step):
    """Test hook: with HANG_AT=<step> and MARKER_DIR set, the first run of
    that step hangs, so that a test can kill coffer in the middle of it."""
    directory = os.environ.get("MARKER_DIR")
    if not directory or os.environ.get("HANG_AT") != step:
        return
    flag = os.path.join(directory, "hung-" + step)
    if os.path.exists(flag):
        return
    with open(flag, "w") as f:
        f.write("hanging\n")
    import time
    time.sleep(600)


def _marker(token):
    directory = os.environ.get("MARKER_DIR")
    return os.path.join(directory, token + ".set") if directory else None


def set_secret(service_client, arn, token):
    """Where a database's password would change; here, a marker."""
    service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    marker = _marker(token)
    if marker:
        with open(marker, "w") as f:
            f.write(arn + "\n")
    logger.info("setSecret: set the pending password of %s (version %s)." % (arn, token))


def test_secret(service_client, arn, token):
    """Where one would log in with the new password; here, check the marker."""
    pending = service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    if not pending.get("SecretString"):
        raise ValueError("testSecret: the pending version of %s has no value" % arn)
    marker = _marker(token)
    if marker and not os.path.exists(marker):
        raise ValueError("testSecret: setSecret did not run for version %s" % token)
    logger.info("testSecret: the pending password of %s works (version %s)." % (arn, token))


def finish_secret(service_client, arn, token):
    """Move AWSCURRENT to the new version."""
    metadata = service_client.describe_secret(SecretId=arn)
    current_version = None
    for version in metadata["VersionIdsToStages"]:
        if "AWSCURRENT" in metadata["VersionIdsToStages"][version]:
            if version == token:
                logger.info("finishSecret: Version %s already marked as AWSCURRENT for %s" % (version, arn))
                return
            current_version = version
            break
    service_client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current_version)
    logger.info("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s." % (token, arn))
