"""deploy/aws/template.yaml: cfn-lint passes (it applies the SAM transform first) and the
template deploys what docs/deploy-aws.md describes."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.deploy.tools import REPO, require_tool

TEMPLATE = REPO / "deploy" / "aws" / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads the short-form intrinsics (!Ref, !If, ...) as plain {"Fn::X": ...} mappings."""


def _intrinsic(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)


def test_cfn_lint_passes():
    cfn_lint = require_tool("cfn-lint", "cfn-lint")
    proc = subprocess.run(
        [cfn_lint, "--format", "parseable", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cfn_lint_catches_a_bad_setting(tmp_path):
    """The linter really checks the SAM resource: an impossible memory size fails."""
    cfn_lint = require_tool("cfn-lint", "cfn-lint")
    bad = tmp_path / "template.yaml"
    bad.write_text(TEMPLATE.read_text().replace("MemorySize: !Ref MemorySize", "MemorySize: 1"))
    proc = subprocess.run([cfn_lint, str(bad)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "MemorySize" in proc.stdout or "minimum" in proc.stdout


def test_function_runs_the_container_image_in_lambda_mode(template):
    function = template["Resources"]["AgentFunction"]
    assert function["Type"] == "AWS::Serverless::Function"
    assert function["Metadata"]["Dockerfile"] == "Dockerfile"
    assert (TEMPLATE.parent / function["Metadata"]["DockerContext"] / "Dockerfile").is_file()
    props = function["Properties"]
    assert props["PackageType"] == "Image"
    assert props["Environment"]["Variables"]["LAMBDA"] == "true"
    assert props["Timeout"] == {"Ref": "Timeout"}
    assert props["MemorySize"] == {"Ref": "MemorySize"}
    timeout = template["Parameters"]["Timeout"]
    assert timeout["MaxValue"] == 900 and timeout["Default"] >= 300
    assert template["Parameters"]["MemorySize"]["Default"] >= 1769  # a whole vCPU


def test_function_url_and_secrets(template):
    props = template["Resources"]["AgentFunction"]["Properties"]
    assert props["FunctionUrlConfig"]["AuthType"] == {"Ref": "FunctionUrlAuthType"}
    variables = props["Environment"]["Variables"]
    for name in ("ANTHROPIC_API_KEY", "AGENTCONTAINERS_API_KEYS"):
        reference = variables[name]["Fn::Sub"]
        assert reference.startswith("{{resolve:secretsmanager:"), name
    # No secret is ever a template parameter (it would sit in the stack's history).
    for name, parameter in template["Parameters"].items():
        assert "KEY" not in name.upper() or parameter.get("NoEcho"), name
    assert "FunctionUrl" in template["Outputs"]


def test_state_on_efs_mounted_at_mnt_state(template):
    resources = template["Resources"]
    props = resources["AgentFunction"]["Properties"]
    mounts = props["FileSystemConfigs"]["Fn::If"][1]
    assert mounts[0]["LocalMountPath"] == "/mnt/state"
    access_point = resources["StateAccessPoint"]["Properties"]
    assert access_point["PosixUser"] == {"Uid": "10001", "Gid": "10001"}  # the image's user
    assert resources["StateFileSystem"]["Properties"]["Encrypted"] is True
    state_dir = props["Environment"]["Variables"]["STATE_DIR"]["Fn::If"]
    assert state_dir[1] == "/mnt/state" and state_dir[2].startswith("/tmp/")


def test_efs_state_requires_a_single_writer(template, tmp_path):
    """SQLite in WAL mode on EFS takes one writer: the template refuses EFS state unless the
    function's concurrency is reserved at 1 (a deployment-time rule, not a note in the docs)."""
    rule = template["Rules"]["EfsStateHasOneWriter"]
    assert rule["RuleCondition"] == template["Conditions"]["UseEfs"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "ReservedConcurrency"}, "1"]}
    assert "ReservedConcurrency=1" in rule["Assertions"][0]["AssertDescription"]
