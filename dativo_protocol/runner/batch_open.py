"""Opening the files of BATCH messages through fsspec (local paths, ``s3://``, ``gs://``...).

The protocol core opens local files only (:func:`dativo_protocol.batch_files.open_local`); the
runner layer may reach object stores, so ``dativo validate --batch-files`` passes this opener.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from dativo_protocol.batch_files import BatchOpener, local_path, open_local
from dativo_protocol.errors import ConfigError, ProtocolError


def fsspec_opener(options: Mapping[str, Any]) -> BatchOpener:
    """A :data:`BatchOpener` for any fsspec URL; ``options`` go to the URL's filesystem (for S3:
    s3fs's ``key``, ``secret``, ``client_kwargs``...). Local paths open as in the core."""

    def open_uri(uri: str) -> BinaryIO | None:
        if local_path(uri) is not None:
            return open_local(uri)
        import fsspec

        try:
            opened: BinaryIO = fsspec.open(uri, "rb", **options).open()
        except (ImportError, ValueError) as exc:
            scheme = uri.split("://", 1)[0]
            raise ConfigError(
                f"cannot open {scheme}:// BATCH files: {type(exc).__name__}",
                hint="install the filesystem's package (for s3://: pip install "
                "'dativo-protocol[s3]') and check --storage-options",
            ) from None
        except FileNotFoundError:
            raise ProtocolError("BATCH manifest file does not exist") from None
        except OSError as exc:
            raise ProtocolError(f"cannot read BATCH file: {type(exc).__name__}") from None
        return opened

    return open_uri
