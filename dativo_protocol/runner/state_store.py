"""State backends: where the runner keeps the last committed Singer state of each job.

Documents are stored in Meltano's shape, ``{"completed": {"singer_state": V}, "partial": {}}``,
and in Meltano's layouts, so a Meltano project and Dativo can share a backend:

- a local folder (the default, ``.dativo/state``, or ``file:///abs/path``):
  ``<folder>/<state_id>/state.json``, written atomically (temp file, fsync, rename, fsync dir);
- any fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``memory://...``): the same layout, one
  object per put (object stores replace objects atomically); ``options`` go to
  ``fsspec.filesystem`` (for S3: s3fs's ``key``, ``secret``, ``endpoint_url``, ``client_kwargs``);
- PostgreSQL (``postgresql://user@host:port/db?table=dativo_state``): one row per state id
  (``state_id``, ``completed_state``, ``partial_state``, ``updated_at``), see :mod:`.state_pg`.

Every store also takes a per-state-id run lock so two runs of one job cannot interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, DativoError, StateError
from dativo_protocol.state import StateDocument, load_state_document, merge_states

STATE_FILE = "state.json"
LOCK_FILE = ".dativo.lock"
_VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@=+-]{0,199}$")


class StateStore(Protocol):
    url: str

    def get(self, state_id: str) -> dict[str, Any] | None:
        """The stored Singer state value (what goes to ``tap --state``), or None."""
        ...

    def put(self, state_id: str, value: Mapping[str, Any]) -> None:
        """Store ``value`` atomically and durably before returning."""
        ...

    def clear(self, state_id: str) -> bool:
        """Forget the state; True if there was one."""
        ...

    def ids(self) -> list[str]: ...

    def lock(self, state_id: str) -> contextlib.AbstractContextManager[None]:
        """Held for a whole run; raises StateError when another run holds it."""
        ...

    def close(self) -> None: ...


def check_state_id(state_id: str) -> str:
    if not _VALID_ID.match(state_id):
        raise ConfigError(f"invalid state id {state_id!r}: 1-200 letters, digits and `_.:@=+-`")
    return state_id


def state_document(value: Mapping[str, Any]) -> dict[str, Any]:
    """The versioned document (``dativo_protocol.state``): ``{"format_version": 1,
    "singer_state": V, "updated_at": ...}``, a superset of Meltano's ``{"singer_state": V}``."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    return StateDocument(singer_state=dict(value), updated_at=now).to_dict()


def to_document(value: Mapping[str, Any]) -> dict[str, Any]:
    """Meltano's file-backend shape for a complete state, holding the versioned document."""
    return {"completed": state_document(value), "partial": {}}


def _singer_state(part: Any, where: str) -> Any:
    if not part:
        return None
    try:
        return load_state_document(part).singer_state
    except StateError as exc:
        raise StateError(f"{where}: {exc.message}") from None


def from_document(doc: Any, where: str) -> dict[str, Any] | None:
    """The Singer state in a stored document: Meltano's file/DB shape (``completed`` and
    ``partial``, partial merged over completed) or a bare ``{"singer_state": V}`` document."""
    if not isinstance(doc, dict):
        raise StateError(f"{where}: a state document is a JSON object")
    if "singer_state" in doc:
        value = _singer_state(doc, where)
    else:
        completed = _singer_state(doc.get("completed"), where)
        partial = _singer_state(doc.get("partial"), where)
        value = merge_states(completed, partial) if partial else completed
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StateError(f"{where}: singer_state must be a JSON object")
    return value


def parse_state_input(raw: bytes, where: str) -> dict[str, Any]:
    """A user-given state: ``{"singer_state": V}``, Meltano's document, or a bare state value."""
    try:
        doc = codec.loads(raw)
    except codec.JSONDecodeError as exc:
        raise StateError(f"{where}: {codec.describe_decode_error(exc)}") from None
    if isinstance(doc, dict) and ("singer_state" in doc or "completed" in doc):
        value = from_document(doc, where)
        return value or {}
    if not isinstance(doc, dict):
        raise StateError(f"{where}: a state is a JSON object")
    return doc


# ------------------------------------------------------------------------------- local files
class LocalStateStore:
    """``<root>/<state_id>/state.json``; atomic replace with fsync of file and folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri() if root.is_absolute() else str(root)

    def _dir(self, state_id: str) -> Path:
        return self.root / check_state_id(state_id)

    def get(self, state_id: str) -> dict[str, Any] | None:
        path = self._dir(state_id) / STATE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read state {path}: {exc.strerror}") from None
        try:
            doc = codec.loads(raw)
        except codec.JSONDecodeError as exc:
            raise StateError(f"{path}: {codec.describe_decode_error(exc)}") from None
        return from_document(doc, str(path))

    def put(self, state_id: str, value: Mapping[str, Any]) -> None:
        folder = self._dir(state_id)
        data = codec.dumps(to_document(value))
        tmp = folder / f".{STATE_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, folder / STATE_FILE)
            dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StateError(f"cannot write state in {folder}: {exc.strerror}") from None

    def clear(self, state_id: str) -> bool:
        path = self._dir(state_id) / STATE_FILE
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StateError(f"cannot remove {path}: {exc.strerror}") from None
        return True

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{STATE_FILE}"))

    @contextlib.contextmanager
    def lock(self, state_id: str) -> Iterator[None]:
        folder = self._dir(state_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / LOCK_FILE, "a+b")  # noqa: SIM115 - held for the whole run
        except OSError as exc:
            raise StateError(f"cannot lock state {state_id}: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateError(
                    f"state {state_id!r} is locked by another running job",
                    hint="wait for it to finish; the lock goes away with its process",
                ) from None
            yield
        finally:
            handle.close()

    def close(self) -> None:
        return None


# ------------------------------------------------------------------------------------ fsspec
class FsspecStateStore:
    """The same layout on any fsspec filesystem (S3 through s3fs, GCS, memory, ...)."""

    def __init__(self, url: str, options: Mapping[str, Any]) -> None:
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - fsspec is a core dependency
            raise ConfigError("fsspec is required for remote state backends") from exc
        self.url = url.rstrip("/")
        protocol = urlsplit(url).scheme
        try:
            self.fs = fsspec.filesystem(protocol, **dict(options))
        except ImportError:
            raise ConfigError(
                f"state backend {protocol}:// needs an extra package",
                hint="for s3:// install dativo-protocol[s3]",
            ) from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"state backend options are invalid: {exc}") from None

    def _path(self, state_id: str) -> str:
        return f"{self.url}/{check_state_id(state_id)}/{STATE_FILE}"

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except FileNotFoundError:
            raise
        except DativoError:
            raise
        except Exception as exc:  # noqa: BLE001 - any backend failure is a StateError
            raise StateError(
                f"state backend {self.url}: cannot {what}: {type(exc).__name__}: {exc}"
            ) from None

    def get(self, state_id: str) -> dict[str, Any] | None:
        path = self._path(state_id)
        try:
            raw = self._call("read state", self.fs.cat_file, path)
        except FileNotFoundError:
            return None
        try:
            doc = codec.loads(raw)
        except codec.JSONDecodeError as exc:
            raise StateError(f"{path}: {codec.describe_decode_error(exc)}") from None
        return from_document(doc, path)

    def put(self, state_id: str, value: Mapping[str, Any]) -> None:
        self._call(
            "write state", self.fs.pipe_file, self._path(state_id), codec.dumps(to_document(value))
        )

    def clear(self, state_id: str) -> bool:
        path = self._path(state_id)
        if not self._call("look for state", self.fs.exists, path):
            return False
        try:
            self._call("remove state", self.fs.rm_file, path)
        except FileNotFoundError:
            return False
        return True

    def ids(self) -> list[str]:
        try:
            found = self._call("list states", self.fs.glob, f"{self.url}/*/{STATE_FILE}")
        except FileNotFoundError:
            return []
        return sorted(str(p).rstrip("/").split("/")[-2] for p in found)

    @contextlib.contextmanager
    def lock(self, state_id: str) -> Iterator[None]:
        # object stores have no cheap exclusive lock; documented in docs/state.md
        check_state_id(state_id)
        yield

    def close(self) -> None:
        return None


def open_store(
    url: str | None, options: Mapping[str, Any] | None = None, *, base_dir: Path | None = None
) -> StateStore:
    """The store for a backend URL (None: the default local folder ``.dativo/state``)."""
    from dativo_protocol.runner.jobs import DEFAULT_STATE_BACKEND

    url = url or os.environ.get("DATIVO_STATE_BACKEND") or DEFAULT_STATE_BACKEND
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme in ("", "file"):
        path = Path(urlsplit(url).path if scheme else url).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        return LocalStateStore(path)
    if scheme in ("postgresql", "postgres"):
        from dativo_protocol.runner.state_pg import PostgresStateStore

        return PostgresStateStore(url, options or {})
    return FsspecStateStore(url, options or {})
