"""Rust-engine connectors: a prebuilt executable, or a crate built with cargo on first use.

An entry with ``launch.cargo`` (a crate directory) is built once with ``cargo build
--release`` into a cache keyed by the crate's sources: ``$DATIVO_HOME/rust/bin/<name>-<version>-
<key>/<binary>`` (``DATIVO_HOME`` defaults to ``~/.dativo``). The key hashes every file of the
crate (``target/`` and hidden entries aside) and its workspace's ``Cargo.toml``/``Cargo.lock``,
so an edited source means a new build and an unchanged one never rebuilds. All builds share
one cargo target directory (``$DATIVO_HOME/rust/target``), so a rebuild is incremental. A file
lock serialises concurrent builds; the binary is moved into place last, so an interrupted
build starts over. Without ``launch.cargo``, ``launch.binary`` is an executable path (relative
paths resolve against the registry file) or a name on ``PATH``.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

from dativo_protocol.errors import ConfigError, ConnectorError
from dativo_protocol.runner.install import dativo_home
from dativo_protocol.runner.registry import ConnectorEntry

BUILD_TIMEOUT = 900.0
_SKIP = frozenset({"target"})

log = logging.getLogger("dativo.rust")


def cache_dir() -> Path:
    return dativo_home() / "rust"


def cargo_program() -> str:
    found = shutil.which("cargo")
    if found is None:
        home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
        candidate = home / "bin" / "cargo"
        found = str(candidate) if candidate.exists() else None
    if found is None:
        raise ConfigError(
            "cargo is not installed: it is needed to build rust-engine connectors",
            hint="install Rust with rustup (https://rustup.rs), or set launch.binary "
            "to a prebuilt executable and drop launch.cargo",
        )
    return found


def _crate_files(crate: Path) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(crate):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP and not d.startswith("."))
        files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
    return files


def _workspace_files(crate: Path) -> list[Path]:
    """``Cargo.toml`` and ``Cargo.lock`` of the enclosing workspace, if any."""
    for parent in list(crate.parents)[:3]:
        manifest = parent / "Cargo.toml"
        if manifest.is_file() and "[workspace]" in manifest.read_text(encoding="utf-8"):
            return [p for p in (manifest, parent / "Cargo.lock") if p.is_file()]
    return []


def source_key(crate: Path) -> str:
    """A digest of the crate's sources and its workspace manifest and lock file."""
    digest = hashlib.sha256()
    for path in [*_workspace_files(crate), *_crate_files(crate)]:
        rel = os.path.relpath(path, crate)
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def crate_dir(entry: ConnectorEntry) -> Path:
    crate = Path(entry.launch.cargo or "")
    if not (crate / "Cargo.toml").is_file():
        raise ConfigError(
            f"crate of {entry.ref} not found: {crate} has no Cargo.toml",
            hint="launch.cargo is resolved against the registry file; the rust_taps/ sources "
            "ship with the Dativo repository, not the wheel: build them there or set "
            "launch.binary",
        )
    return crate


def binary_name(entry: ConnectorEntry) -> str:
    return entry.launch.binary or entry.name


def built_binary(entry: ConnectorEntry) -> Path:
    """Where the build of ``entry``'s current sources lives (it may not exist yet)."""
    key = source_key(crate_dir(entry))
    return cache_dir() / "bin" / f"{entry.name}-{entry.version}-{key}" / binary_name(entry)


def ensure_built(entry: ConnectorEntry) -> Path:
    """The executable of a rust-engine entry, building its crate on first use."""
    if entry.engine != "rust":
        raise ConfigError(f"{entry.ref} is not a rust-engine connector")
    if entry.launch.cargo is None:
        return _prebuilt(entry)
    target = built_binary(entry)
    if target.is_file():
        return target
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():
            _build(entry, crate_dir(entry), target)
    return target


def _prebuilt(entry: ConnectorEntry) -> Path:
    program = binary_name(entry)
    if "/" in program:
        path = Path(program)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ConfigError(f"executable {program} of {entry.ref} not found or not executable")
    found = shutil.which(program)
    if found is None:
        raise ConfigError(
            f"executable {program!r} of {entry.ref} is not on PATH",
            hint="give launch.binary as a path, or launch.cargo to build it from its crate",
        )
    return Path(found)


def _build(entry: ConnectorEntry, crate: Path, target: Path) -> None:
    binary = binary_name(entry)
    target_dir = cache_dir() / "target"
    argv = [
        cargo_program(),
        "build",
        "--release",
        "--quiet",
        "--manifest-path",
        str(crate / "Cargo.toml"),
        "--bin",
        binary,
        "--target-dir",
        str(target_dir),
    ]
    log.warning("building %s with cargo (first use of these sources) into %s", entry.ref, target)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise ConnectorError(f"building {entry.ref} timed out after {BUILD_TIMEOUT:g}s") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        reason = lines[0] if lines else f"exit code {done.returncode}"
        raise ConnectorError(
            f"building {entry.ref} with cargo failed: {reason[:300]}",
            detail=done.stderr[-4000:],
            hint=f"run: cargo build --release --manifest-path {crate / 'Cargo.toml'}",
        )
    built = target_dir / "release" / binary
    if not built.is_file():
        raise ConfigError(
            f"cargo built no binary {binary!r} for {entry.ref}",
            hint="set launch.binary to the name of a [[bin]] target of the crate",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{binary}.partial")
    shutil.copy2(built, partial)
    os.replace(partial, target)
