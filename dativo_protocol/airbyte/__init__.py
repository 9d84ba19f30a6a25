"""The Airbyte protocol: messages, state, and lossless conversion to and from Singer.

- :mod:`~dativo_protocol.airbyte.messages`: parse/serialize every Airbyte message type;
- :mod:`~dativo_protocol.airbyte.to_singer`: :class:`AirbyteToSinger`, a streaming converter;
- :mod:`~dativo_protocol.airbyte.from_singer`: :class:`SingerToAirbyte`, the reverse;
- :mod:`~dativo_protocol.airbyte.state`: the Airbyte state list <-> Singer STATE value shape;
- :mod:`~dativo_protocol.airbyte.mapping`: stream ids, times and field paths.

Rules are documented in docs/airbyte.md. Nothing is imported here: import the submodules.
"""
