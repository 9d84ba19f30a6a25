"""The normalised form of a JSON Schema: one small node per JSON type.

``normalize`` (in :mod:`dativo_protocol.schema.jsonschema`) turns the many spellings of JSON
Schema (type lists, ``anyOf``/``oneOf``, ``$ref``, missing ``type``, decimal conventions) into
these nodes; visitors (:mod:`dativo_protocol.schema.visitor`) then dispatch on the node class.
Pure Python: no pyarrow here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DecimalSource = Literal["multipleOf", "singer.decimal"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of every node. ``nullable`` is true when JSON ``null`` is an allowed value."""

    nullable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Property:
    """One property of an object: its name, schema and whether ``required`` lists it."""

    name: str
    schema: Node
    required: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectNode(Node):
    """An object. ``properties`` empty means an open object (a map or free-form document)."""

    properties: tuple[Property, ...] = ()
    additional_properties: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrayNode(Node):
    """An array. ``items`` is ``None`` when the schema does not say what the elements are."""

    items: Node | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StringNode(Node):
    """A string, with its ``format`` (``date-time``, ``date``, ``time``, ``uuid``...)."""

    format: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegerNode(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DecimalSpec:
    """An exact decimal. ``precision`` is ``None`` when the schema does not bound it;
    ``scale`` is ``None`` when the schema does not say how many fractional digits it has."""

    precision: int | None
    scale: int | None
    source: DecimalSource


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberNode(Node):
    """A number. ``decimal`` is set for exact decimals (``multipleOf`` a power of ten, or the
    Singer decimal conventions). ``as_string`` is true when values arrive as JSON strings
    (``format: singer.decimal`` / ``x-singer.decimal``)."""

    decimal: DecimalSpec | None = None
    as_string: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BooleanNode(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class NullNode(Node):
    """Only ``null`` is allowed."""

    nullable: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class UnionNode(Node):
    """Values may be of several JSON types that have no common column type (e.g. string or
    integer). ``variants`` are the normalised alternatives, without ``null``."""

    variants: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AnyNode(Node):
    """Anything goes: an empty schema, ``true``, or a recursive ``$ref`` we cannot unroll."""

    nullable: bool = True
    reason: Literal["unconstrained", "recursive"] = "unconstrained"
