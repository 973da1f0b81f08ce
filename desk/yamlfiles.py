"""YAML for files people edit by hand: a key written twice is an error, not a silent loss.

PyYAML keeps the last of two equal keys in a mapping, so a second "新生儿:" in a word table
quietly drops every variant listed under the first one. `load` names both lines instead.
"""

from __future__ import annotations

from typing import Any, Dict, Hashable

import yaml


class UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Dict[Hashable, Any]:
        first: Dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *defaults" merges another mapping; the base class handles it
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class names an unhashable key
            line = key_node.start_mark.line + 1
            if key in first:
                # The problem first: callers show the first line of the message.
                problem = f"key {key!r} appears twice (lines {first[key]} and {line})"
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            first[key] = line
        return super().construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, UniqueKeyLoader.construct_mapping
)


def load(text: str) -> Any:
    """Parses YAML text like `yaml.safe_load`, refusing duplicate keys (`yaml.YAMLError`)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader
