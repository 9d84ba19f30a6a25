"""A visitor over normalised JSON Schema nodes, dispatched on the node class.

In the style of pyiceberg's schema visitors: :func:`visit` walks the tree bottom-up and calls
one method per JSON type with the already-visited children; ``before_*``/``after_*`` hooks let a
visitor track where it is (e.g. a field path). Pure Python: no pyarrow here.

Example: count the leaves of a schema::

    class Leaves(SchemaVisitor[int]):
        def object(self, node, properties): return sum(properties)
        def property(self, prop, result): return result
        def array(self, node, items): return items or 1
        def string(self, node): return 1
        ...

    visit(normalize(schema), Leaves())
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from dativo_protocol.schema.nodes import (
    AnyNode,
    ArrayNode,
    BooleanNode,
    IntegerNode,
    Node,
    NullNode,
    NumberNode,
    ObjectNode,
    Property,
    StringNode,
    UnionNode,
)

__all__ = ["SchemaVisitor", "visit"]

T = TypeVar("T")


class SchemaVisitor(ABC, Generic[T]):
    """Override one method per JSON type. Hooks default to doing nothing."""

    def before_property(self, prop: Property) -> None:
        """Called before a property's schema is visited."""

    def after_property(self, prop: Property) -> None:
        """Called after a property's schema is visited."""

    def before_items(self, node: ArrayNode) -> None:
        """Called before an array's item schema is visited."""

    def after_items(self, node: ArrayNode) -> None:
        """Called after an array's item schema is visited."""

    @abstractmethod
    def object(self, node: ObjectNode, properties: list[T]) -> T:
        """An object, with the results of :meth:`property` for each of its properties."""

    @abstractmethod
    def property(self, prop: Property, result: T) -> T:
        """One property, with the result of visiting its schema."""

    @abstractmethod
    def array(self, node: ArrayNode, items: T | None) -> T:
        """An array, with the result for its items (``None`` when the schema has no items)."""

    @abstractmethod
    def string(self, node: StringNode) -> T: ...

    @abstractmethod
    def integer(self, node: IntegerNode) -> T: ...

    @abstractmethod
    def number(self, node: NumberNode) -> T: ...

    @abstractmethod
    def boolean(self, node: BooleanNode) -> T: ...

    @abstractmethod
    def null(self, node: NullNode) -> T: ...

    @abstractmethod
    def union(self, node: UnionNode) -> T:
        """Several JSON types with no common column type. Variants are not visited for you;
        call :func:`visit` on ``node.variants`` if you need them."""

    @abstractmethod
    def any(self, node: AnyNode) -> T: ...


def visit(node: Node, visitor: SchemaVisitor[T]) -> T:
    """Walk ``node`` bottom-up with ``visitor`` and return the result for the root."""
    if isinstance(node, ObjectNode):
        results: list[T] = []
        for prop in node.properties:
            visitor.before_property(prop)
            try:
                results.append(visitor.property(prop, visit(prop.schema, visitor)))
            finally:
                visitor.after_property(prop)
        return visitor.object(node, results)
    if isinstance(node, ArrayNode):
        items: T | None = None
        if node.items is not None:
            visitor.before_items(node)
            try:
                items = visit(node.items, visitor)
            finally:
                visitor.after_items(node)
        return visitor.array(node, items)
    if isinstance(node, StringNode):
        return visitor.string(node)
    if isinstance(node, IntegerNode):
        return visitor.integer(node)
    if isinstance(node, NumberNode):
        return visitor.number(node)
    if isinstance(node, BooleanNode):
        return visitor.boolean(node)
    if isinstance(node, NullNode):
        return visitor.null(node)
    if isinstance(node, UnionNode):
        return visitor.union(node)
    if isinstance(node, AnyNode):
        return visitor.any(node)
    raise TypeError(f"unknown schema node {type(node).__name__}")
