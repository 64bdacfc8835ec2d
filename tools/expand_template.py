"""Writes template.yaml with its Fn::ForEach loops expanded, for scanners that cannot expand them
(checkov would otherwise never see the regional buckets). Uses SAM CLI's own expansion, so it runs
with the tools virtualenv:  .venv/tools/bin/python -m tools.expand_template OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
from samcli.yamlhelper import yaml_parse

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def expanded_template() -> dict:
    template = yaml_parse(TEMPLATE.read_text())
    defaults = {name: spec["Default"] for name, spec in template.get("Parameters", {}).items() if "Default" in spec}
    defaults.update({"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"})
    return expand_language_extensions(template, defaults, enabled=True).expanded_template


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(expanded_template(), indent=1))
