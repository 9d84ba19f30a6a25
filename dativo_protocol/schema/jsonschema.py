"""Normalise a JSON Schema into :mod:`dativo_protocol.schema.nodes`.

This is where the many ways of spelling one thing are folded together, so that visitors only
see one node per JSON type:

- ``"type": ["null", "string"]``, ``anyOf``/``oneOf`` with a ``{"type": "null"}`` branch and
  ``"type": "null"`` siblings all become ``nullable=True``;
- ``integer`` together with ``number`` becomes ``number``; several ``object`` branches merge
  their properties; several ``string`` branches with different formats become a plain string;
  any other mix of JSON types becomes a :class:`UnionNode`;
- local ``$ref`` (``#``, ``#/$defs/x``, ``#/definitions/x``, any JSON pointer) is resolved,
  a recursive reference becomes ``AnyNode(reason="recursive")``; ``allOf`` is merged;
- a missing ``type`` is inferred from the keywords (``properties``, ``items``, ``enum``,
  ``const``, ``format``, ``multipleOf``...), otherwise the node is :class:`AnyNode`;
- ``multipleOf`` a power of ten, ``format: singer.decimal`` / ``x-singer.decimal`` (with
  ``precision``/``scale``) become a :class:`DecimalSpec`.

Pure Python (no pyarrow). Schema problems raise :class:`~dativo_protocol.errors.SchemaError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from dativo_protocol.errors import SchemaError
from dativo_protocol.schema.nodes import (
    AnyNode,
    ArrayNode,
    BooleanNode,
    DecimalSpec,
    IntegerNode,
    Node,
    NullNode,
    NumberNode,
    ObjectNode,
    Property,
    StringNode,
    UnionNode,
)

__all__ = ["DECIMAL_FORMATS", "normalize"]

DECIMAL_FORMATS = frozenset({"singer.decimal", "x-singer.decimal"})
_TYPE_NAMES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
_SCALE_PRECISION = re.compile(r"^\(?\s*(\d+)\s*,\s*(\d+)\s*\)?$")


def normalize(schema: Any, *, stream: str | None = None) -> Node:
    """Normalise ``schema`` (a JSON Schema document, usually a stream's ``schema``)."""
    return _Normalizer(schema, stream).node(schema, (), ())


def _where(path: tuple[str, ...]) -> str:
    return f"field '{'.'.join(path)}'" if path else "the schema root"


class _Normalizer:
    __slots__ = ("root", "stream")

    def __init__(self, root: Any, stream: str | None) -> None:
        self.root = root
        self.stream = stream

    def error(self, path: tuple[str, ...], reason: str) -> SchemaError:
        return SchemaError(f"{_where(path)}: {reason}", stream=self.stream)

    # ------------------------------------------------------------------ entry
    def node(self, schema: Any, path: tuple[str, ...], refs: tuple[str, ...]) -> Node:
        if schema is True:
            return AnyNode()
        if schema is False:
            return NullNode()
        if not isinstance(schema, Mapping):
            raise self.error(path, f"a schema must be an object, not {type(schema).__name__}")
        if "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str):
                raise self.error(path, "$ref must be a string")
            if ref in refs:
                return AnyNode(reason="recursive")
            target = self.resolve(ref, path)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            merged = {**target, **siblings} if isinstance(target, Mapping) else target
            if not siblings:
                merged = target
            return self.node(merged, path, (*refs, ref))
        if "allOf" in schema:
            merged_all, seen = self.merge_all_of(schema, path, refs)
            if merged_all is None:
                return AnyNode(reason="recursive")
            return self.node(merged_all, path, seen)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = schema[key]
                if not isinstance(branches, Sequence) or isinstance(branches, str | bytes):
                    raise self.error(path, f"{key} must be a list of schemas")
                rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                variants = [self.node(_inherit(rest, b), path, refs) for b in branches]
                if _type_names(rest, path, self) == ["null"]:
                    variants.append(NullNode())
                return self.combine(variants, path)
        return self.typed(schema, path, refs)

    def resolve(self, ref: str, path: tuple[str, ...]) -> Any:
        if not ref.startswith("#"):
            raise self.error(path, f"only local $ref is supported (got a reference to '{ref}')")
        target: Any = self.root
        pointer = unquote(ref[1:])
        if pointer:
            if not pointer.startswith("/"):
                raise self.error(path, f"unsupported $ref '{ref}' (use a JSON pointer)")
            for raw in pointer[1:].split("/"):
                part = raw.replace("~1", "/").replace("~0", "~")
                if isinstance(target, Mapping) and part in target:
                    target = target[part]
                elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                else:
                    raise self.error(path, f"$ref '{ref}' points to nothing")
        return target

    def merge_all_of(
        self, schema: Mapping[str, Any], path: tuple[str, ...], refs: tuple[str, ...]
    ) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
        """The parts of ``allOf`` merged into one schema, and the refs followed to get there
        (``None`` when a part refers back to a schema being expanded: recursion)."""
        parts = schema["allOf"]
        if not isinstance(parts, Sequence) or isinstance(parts, str | bytes):
            raise self.error(path, "allOf must be a list of schemas")
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        seen = refs
        for part in parts:
            while isinstance(part, Mapping) and "$ref" in part:
                ref = part["$ref"]
                if not isinstance(ref, str):
                    raise self.error(path, "$ref must be a string")
                if ref in seen:
                    return None, seen
                seen = (*seen, ref)
                target = self.resolve(ref, path)
                rest = {k: v for k, v in part.items() if k != "$ref"}
                part = {**target, **rest} if isinstance(target, Mapping) else target
            if part is False:  # nothing is valid: only null can be stored
                merged["type"] = ["null"]
                continue
            if not isinstance(part, Mapping):
                continue
            for key, value in part.items():
                if key == "properties" and isinstance(value, Mapping):
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required" and isinstance(value, list):
                    merged["required"] = [*merged.get("required", []), *value]
                elif key == "type" and "type" in merged:
                    mine = set(_as_list(merged["type"]))
                    common = [t for t in _as_list(value) if t in mine]
                    merged["type"] = common or merged["type"]
                else:
                    merged.setdefault(key, value)
        return merged, seen

    # ------------------------------------------------------------------ typed schemas
    def typed(
        self, schema: Mapping[str, Any], path: tuple[str, ...], refs: tuple[str, ...]
    ) -> Node:
        names = _type_names(schema, path, self)
        if not names:
            names = _infer_types(schema)
            if not names:
                return AnyNode()
        nodes = [self.one_type(name, schema, path, refs) for name in names]
        return nodes[0] if len(nodes) == 1 else self.combine(nodes, path)

    def one_type(
        self, name: str, schema: Mapping[str, Any], path: tuple[str, ...], refs: tuple[str, ...]
    ) -> Node:
        if name == "null":
            return NullNode()
        if name == "boolean":
            return BooleanNode()
        if name == "integer":
            return IntegerNode()
        if name == "number":
            fmt = schema.get("format")
            if fmt in DECIMAL_FORMATS:
                return NumberNode(decimal=_singer_decimal(schema))
            return NumberNode(decimal=_decimal_from_multiple_of(schema))
        if name == "string":
            fmt = schema.get("format")
            if fmt in DECIMAL_FORMATS:
                return NumberNode(decimal=_singer_decimal(schema), as_string=True)
            enum = schema.get("enum")
            strings = (
                tuple(v for v in enum if isinstance(v, str)) if isinstance(enum, list) else None
            )
            return StringNode(format=fmt if isinstance(fmt, str) else None, enum=strings or None)
        if name == "array":
            return ArrayNode(items=self.items(schema, path, refs))
        # object
        props = schema.get("properties") or {}
        if not isinstance(props, Mapping):
            raise self.error(path, "properties must be an object")
        required = schema.get("required") or []
        required_set = (
            {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
        )
        properties = tuple(
            Property(
                name=str(key),
                schema=self.node(sub, (*path, str(key)), refs),
                required=key in required_set,
            )
            for key, sub in props.items()
        )
        return ObjectNode(
            properties=properties,
            additional_properties=schema.get("additionalProperties", True) is not False,
        )

    def items(
        self, schema: Mapping[str, Any], path: tuple[str, ...], refs: tuple[str, ...]
    ) -> Node | None:
        item_path = (*path, "[]")
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        if isinstance(items, list) or isinstance(prefix, list):
            branches = [*(prefix or []), *(items if isinstance(items, list) else [])]
            if isinstance(items, Mapping | bool) and prefix:
                branches.append(items)
            if not branches:
                return None
            return self.combine([self.node(b, item_path, refs) for b in branches], item_path)
        if items is None:
            return None
        return self.node(items, item_path, refs)

    # ------------------------------------------------------------------ unions
    def combine(self, nodes: Iterable[Node], path: tuple[str, ...]) -> Node:
        flat: list[Node] = []
        nullable = False
        for node in nodes:
            nullable = nullable or node.nullable
            if isinstance(node, UnionNode):
                flat.extend(node.variants)
            elif not isinstance(node, NullNode):
                flat.append(node)
        if not flat:
            return NullNode()
        if any(isinstance(n, AnyNode) for n in flat):
            reasons = {n.reason for n in flat if isinstance(n, AnyNode)}
            return AnyNode(reason="recursive" if "recursive" in reasons else "unconstrained")
        groups: dict[str, list[Node]] = {}
        for node in flat:
            groups.setdefault(_group(node), []).append(node)
        merged = [self.merge_group(kind, members, path) for kind, members in groups.items()]
        if len(merged) == 1:
            return replace(merged[0], nullable=nullable or merged[0].nullable)
        return UnionNode(
            variants=tuple(replace(m, nullable=False) for m in merged), nullable=nullable
        )

    def merge_group(self, kind: str, members: list[Node], path: tuple[str, ...]) -> Node:
        first = members[0]
        nullable = any(m.nullable for m in members)
        if len(members) == 1:
            return first
        if kind == "string":
            strings = [m for m in members if isinstance(m, StringNode)]
            formats = {m.format for m in strings}
            enums = [m.enum for m in strings]
            enum: tuple[str, ...] | None = None
            if all(e is not None for e in enums):
                enum = tuple(dict.fromkeys(v for e in enums if e for v in e))
            fmt = formats.pop() if len(formats) == 1 else None
            return StringNode(format=fmt, enum=enum, nullable=nullable)
        if kind == "numeric":
            numbers = [m for m in members if isinstance(m, NumberNode)]
            if not numbers:
                return IntegerNode(nullable=nullable)
            specs = {m.decimal for m in numbers}
            spec = specs.pop() if len(specs) == 1 else None
            as_string = any(m.as_string for m in numbers)
            return NumberNode(decimal=spec, as_string=as_string, nullable=nullable)
        if kind == "array":
            arrays = [m for m in members if isinstance(m, ArrayNode)]
            item_nodes = [a.items for a in arrays]
            if any(i is None for i in item_nodes):
                return ArrayNode(items=None, nullable=nullable)
            items = self.combine([i for i in item_nodes if i is not None], (*path, "[]"))
            return ArrayNode(items=items, nullable=nullable)
        if kind == "object":
            objects = [m for m in members if isinstance(m, ObjectNode)]
            by_name: dict[str, list[Property]] = {}
            for obj in objects:
                for prop in obj.properties:
                    by_name.setdefault(prop.name, []).append(prop)
            properties = tuple(
                Property(
                    name=name,
                    schema=self.combine([p.schema for p in props], (*path, name)),
                    required=len(props) == len(objects) and all(p.required for p in props),
                )
                for name, props in by_name.items()
            )
            return ObjectNode(
                properties=properties,
                additional_properties=any(o.additional_properties for o in objects),
                nullable=nullable,
            )
        return replace(first, nullable=nullable)


def _group(node: Node) -> str:
    if isinstance(node, IntegerNode | NumberNode):
        return "numeric"
    if isinstance(node, StringNode):
        return "string"
    if isinstance(node, ArrayNode):
        return "array"
    if isinstance(node, ObjectNode):
        return "object"
    return type(node).__name__


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _inherit(parent: Mapping[str, Any], branch: Any) -> Any:
    """A branch of anyOf/oneOf sees the parent's ``type`` when it has none of its own
    (``{"type": "object", "oneOf": [{"properties": ...}]}``)."""
    if isinstance(branch, Mapping) and "type" not in branch and "$ref" not in branch:
        parent_types = [t for t in _as_list(parent.get("type", [])) if t != "null"]
        if parent_types and _infer_types(branch) == []:
            return {**branch, "type": parent_types}
    return branch


def _type_names(schema: Mapping[str, Any], path: tuple[str, ...], owner: _Normalizer) -> list[str]:
    raw = schema.get("type")
    if raw is None:
        return []
    names = _as_list(raw)
    for name in names:
        if name not in _TYPE_NAMES:
            raise owner.error(path, f"unknown JSON Schema type {name!r}")
    return list(dict.fromkeys(names))


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _infer_types(schema: Mapping[str, Any]) -> list[str]:
    """The JSON types a schema without ``type`` implies, from its other keywords."""
    if "enum" in schema and isinstance(schema["enum"], list):
        return list(dict.fromkeys(json_type(v) for v in schema["enum"]))
    if "const" in schema:
        return [json_type(schema["const"])]
    if any(
        k in schema for k in ("properties", "additionalProperties", "patternProperties", "required")
    ):
        return ["object"]
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")):
        return ["array"]
    if schema.get("format") in DECIMAL_FORMATS:
        return ["string"]
    if "format" in schema or any(k in schema for k in ("pattern", "minLength", "maxLength")):
        return ["string"]
    if any(
        k in schema
        for k in ("multipleOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    ):
        return ["number"]
    return []


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _singer_decimal(schema: Mapping[str, Any]) -> DecimalSpec:
    """``format: singer.decimal``/``x-singer.decimal``, precision and scale from ``precision``
    and ``scale`` keys, an ``x-singer.decimal`` object, or ``additionalProperties.scale_precision``
    (``"(p,s)"``, as pipelinewise taps write it)."""
    precision, scale = _int(schema.get("precision")), _int(schema.get("scale"))
    extra = schema.get("x-singer.decimal")
    if isinstance(extra, Mapping):
        precision = precision if precision is not None else _int(extra.get("precision"))
        scale = scale if scale is not None else _int(extra.get("scale"))
    additional = schema.get("additionalProperties")
    if isinstance(additional, Mapping) and isinstance(additional.get("scale_precision"), str):
        match = _SCALE_PRECISION.match(additional["scale_precision"])
        if match and precision is None and scale is None:
            precision, scale = int(match.group(1)), int(match.group(2))
    if scale is None:
        from_multiple = _decimal_from_multiple_of(schema)
        if from_multiple is not None:
            scale = from_multiple.scale
            precision = precision if precision is not None else from_multiple.precision
    return DecimalSpec(precision=precision, scale=scale, source="singer.decimal")


def _integer_digits(bound: Decimal, exclusive: bool) -> int:
    whole = int(bound.to_integral_value(rounding="ROUND_FLOOR"))
    if exclusive and bound == whole:
        whole -= 1
    return max(1, len(str(whole)))


def _decimal_from_multiple_of(schema: Mapping[str, Any]) -> DecimalSpec | None:
    """``multipleOf`` 10^-s means a decimal with scale s. Precision comes from the bounds
    (``minimum``/``maximum``, exclusive or not, draft 4 or 6 style) when both sides are bounded."""
    step = _as_decimal(schema.get("multipleOf"))
    if step is None or step <= 0:
        return None
    _sign, digits, exponent = step.normalize().as_tuple()
    if digits != (1,) or not isinstance(exponent, int):
        return None
    scale = max(0, -exponent)
    uppers: list[int] = []
    lowers: list[int] = []
    for key, strict_key, side in (
        ("maximum", "exclusiveMaximum", uppers),
        ("minimum", "exclusiveMinimum", lowers),
    ):
        strict = schema.get(strict_key)
        inclusive = _as_decimal(schema.get(key))
        if inclusive is not None:
            side.append(_integer_digits(abs(inclusive), strict is True))
        exclusive = _as_decimal(strict) if not isinstance(strict, bool) else None
        if exclusive is not None:
            side.append(_integer_digits(abs(exclusive), True))
    if not uppers or not lowers:
        return DecimalSpec(precision=None, scale=scale, source="multipleOf")
    return DecimalSpec(precision=max(*uppers, *lowers) + scale, scale=scale, source="multipleOf")
