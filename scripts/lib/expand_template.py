"""Expands template.yaml as CloudFormation's SAM transform would (aws-sam-translator), so that
what SAM generates (roles, permissions, mappings, the HTTP API's OpenAPI body) can be linted too.

    expand_template.py template.yaml OUT.json

The code and the state machine's definition get the S3 locations `sam package` would give them;
parameters keep their defaults. It then checks the generated roles against a rule of the
project's that cfn-lint does not make: no statement allows every action, or every action of a
service (the template audit holds the template's own statements to the same).
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PACKAGED_CODE = "s3://cartwheel-package/code.zip"
PACKAGED_DEFINITION = "s3://cartwheel-package/checkout.asl.json"


class NoManagedPolicies:
    """The transform asks for managed policies by name only for policies given by name; Cartwheel
    gives none (its managed policies are ARNs)."""

    def load(self):
        return {}


def packaged(template: dict) -> dict:
    template.get("Globals", {}).get("Function", {})["CodeUri"] = PACKAGED_CODE
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = PACKAGED_CODE
        if resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in properties:
            properties["DefinitionUri"] = PACKAGED_DEFINITION
    return template


def listed(value):
    return value if isinstance(value, list) else [value]


def wildcard_actions(expanded: dict) -> list:
    found = []
    for name, resource in expanded["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in listed(policy["PolicyDocument"]["Statement"]):
                if statement.get("Effect") != "Allow":
                    continue
                for action in listed(statement.get("Action", [])):
                    if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                        found.append(f"{name} ({policy['PolicyName']}) allows {action}")
                if "NotAction" in statement:
                    found.append(f"{name} ({policy['PolicyName']}) allows every action but some")
    return found


def main() -> int:
    source, out = sys.argv[1], sys.argv[2]
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(source, encoding="utf-8") as file:
        template = packaged(yaml_parse(file.read()))
    expanded = transform(template, {}, NoManagedPolicies())
    with open(out, "w", encoding="utf-8") as file:
        json.dump(expanded, file, indent=1)
    kinds = {}
    for resource in expanded["Resources"].values():
        kinds[resource["Type"]] = kinds.get(resource["Type"], 0) + 1
    print(f"{len(expanded['Resources'])} resources after the SAM transform: "
          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    broken = wildcard_actions(expanded)
    for line in broken:
        print(f"generated role: {line}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
