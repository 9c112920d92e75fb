"""infra/aws/template.yaml resolved for given parameters, for the resources moto's CloudFormation
cannot create (schedules, alarms, bucket policy, public access block, lifecycle): conditions
and the intrinsic functions the template uses, evaluated the way CloudFormation documents them.
References to resources resolve to placeholders such as `<Function.Arn>`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "aws" / "template.yaml"
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "stack",
}
_NO_VALUE = object()


def load() -> dict[str, Any]:
    return dict(cfn_yaml.load(str(TEMPLATE_PATH)))


class Resolved:
    def __init__(self, parameters: dict[str, str]) -> None:
        self.template = load()
        declared = self.template["Parameters"]
        unknown = set(parameters) - set(declared)
        assert not unknown, f"not template parameters: {unknown}"
        self.values: dict[str, Any] = {}
        for name, spec in declared.items():
            value = parameters.get(name, spec.get("Default", f"<{name}>"))
            if spec["Type"] == "CommaDelimitedList":
                value = [] if value == "" else str(value).split(",")
            self.values[name] = value if isinstance(value, list) else str(value)
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self._conditions[name]

    def resources(self) -> dict[str, dict[str, Any]]:
        """Resources whose condition holds, with their properties resolved."""
        created = {}
        for logical_id, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            created[logical_id] = {
                "Type": resource["Type"],
                "Properties": self.value(resource.get("Properties", {})),
            }
        return created

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in map(self.value, node) if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                return f"<{argument[0]}.{argument[1]}>"
            if function == "Condition":
                return self.condition(argument)
            if function == "Fn::If":
                return self.value(argument[1] if self.condition(argument[0]) else argument[2])
            if function == "Fn::Equals":
                left, right = (str(self.value(side)) for side in argument)
                return left == right
            if function == "Fn::Not":
                return not self.value(argument[0])
            if function == "Fn::And":
                return all(self.value(item) for item in argument)
            if function == "Fn::Or":
                return any(self.value(item) for item in argument)
            if function == "Fn::Join":
                return argument[0].join(str(item) for item in self.value(argument[1]))
            if function == "Fn::Split":
                return str(self.value(argument[1])).split(argument[0])
            if function == "Fn::Select":
                return self.value(argument[1])[int(argument[0])]
            if function == "Fn::Sub":
                return self._sub(argument)
        resolved = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.values:
            return self.values[name]
        assert name in self.template["Resources"], f"Ref to nothing: {name}"
        return f"<{name}>"

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {name: str(self.value(item)) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return local[name]
            if "." in name:
                resource, attribute = name.split(".", 1)
                return f"<{resource}.{attribute}>"
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)
