"""Publishing a run's files as one unit.

Layout of an output folder ``OUT``::

    OUT/runs/<run_id>/<name>.nc, <name>.parquet, <name>.manifest.json   one folder per run
    OUT/<name> -> runs/<run_id>                                        the latest run of <name>
    OUT/.evpath-staging/<run_id>/                                      a run being written
    OUT/.evpath.lock                                                   held while a run publishes

A run's files are written into its staging folder, the store transaction is committed,
then the folder is moved to ``runs/`` and the link ``OUT/<name>`` is replaced in one
rename. Whatever is killed or fails in between, ``OUT/<name>/`` shows the files of one
complete run, earlier or later, and that run is in the store. Where the file system or
the user cannot make symbolic links (Windows without that privilege, FAT drives), the
file ``OUT/<name>.latest`` names the latest run's folder instead (``runs/<run_id>``),
also replaced in one rename.

Publishing holds an exclusive lock on ``OUT/.evpath.lock`` (``flock`` on POSIX, a locked
byte on Windows), so runs into the same folder take turns (waiting a bounded time); a
staging folder found while holding the lock was left by a run that was killed, and is
removed.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from evpath.errors import InputError, StoreError

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

RUNS = "runs"
STAGING = ".evpath-staging"
LOCK = ".evpath.lock"
LATEST = "{name}.latest"
"""File naming the latest run's folder where no symbolic link can be made."""
KEEP_RUNS = 5
"""Run folders kept per scenario name in ``OUT/runs`` (the linked one is always kept)."""
WAIT_SECONDS = 30.0
"""How long a run waits for another process that holds the output folder or the store."""

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""A run id or scenario name usable as one path component."""
RUN_ID = re.compile(r"\d{8}T\d{12}-.+-[0-9a-f]{8}")
"""Run ids made by :func:`evpath.io.manifest.build_manifest` (time, scenario, input hash)."""
_STALE_TMP = re.compile(r"\..+\.(?:[a-z0-9_]{8}|link)\.tmp")
"""Temporary files evpath writes beside their target (``.<name>.<random>.tmp``) and
temporary links (``.<name>.link.tmp``)."""

Notify = Callable[[str], None]


def say(message: str) -> None:
    """Default way of telling the user why a run waits: a line on stderr."""
    print(message, file=sys.stderr, flush=True)


def reason(exc: BaseException) -> str:
    """An OSError's reason in words (``No space left on device``), or the error's text."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def file_mode() -> int:
    """Permissions of a new file under the current umask (0644 under the usual 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def output_folder(out: Path) -> Path:
    """``out``, created if missing; InputError if it is not a folder, StoreError if it
    cannot be created."""
    if out.exists() and not out.is_dir():
        msg = f"--out {out}: not a folder; allowed: a folder (created if missing)"
        raise InputError(msg)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        msg = f"--out {out}: a part of the path is a file, not a folder"
        raise InputError(msg) from None
    except OSError as exc:
        msg = f"{out}: cannot create the output folder ({reason(exc)})"
        raise StoreError(msg) from None
    return out


@contextmanager
def folder_lock(out: Path, wait: float = WAIT_SECONDS, notify: Notify = say) -> Iterator[None]:
    """Hold the exclusive publishing lock of ``out``, waiting up to ``wait`` seconds."""
    path = out / LOCK
    try:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:  # another user's lock file: locking needs only reading
            fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        msg = f"{out}: cannot write to the output folder ({reason(exc)}); nothing was written"
        raise StoreError(msg) from None
    try:
        deadline = time.monotonic() + wait
        told = False
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                msg = (
                    f"{out}: another evpath run is still writing to this folder after "
                    f"{wait:g} s; nothing was written, try again when it has finished"
                )
                raise StoreError(msg)
            if not told:
                notify(f"waiting up to {wait:g} s for another evpath run writing to {out}")
                told = True
            time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock of the open file ``fd``; False if another process holds it."""
    try:
        if sys.platform == "win32":
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        return False
    return True


def clean_stale(out: Path, before: float) -> None:
    """Remove what killed runs left in ``out``: staging folders and evpath's temporary
    files (by their name pattern) last changed before ``before`` (a POSIX time).

    Call it while holding :func:`folder_lock`: no other run is staging then.
    """
    with suppress(OSError):
        for entry in (out / STAGING).iterdir():
            if SAFE_NAME.fullmatch(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
    with suppress(OSError):
        for entry in out.iterdir():
            if not _STALE_TMP.fullmatch(entry.name):
                continue
            with suppress(OSError):
                info = entry.lstat()  # a temporary link is judged as a link, not its target
                if info.st_mtime < before and not stat.S_ISDIR(info.st_mode):
                    entry.unlink()


def _write_file(path: Path, data: bytes) -> None:
    """A new file holding ``data``, flushed to disk; permissions follow the umask."""
    with path.open("xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _sync_folder(path: Path) -> None:
    """Flush a folder's entries (new names, renames) to disk, where the system allows it."""
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _linked_run(out: Path, name: str) -> str | None:
    """The run id the latest-run link (or, without links, the ``.latest`` file) names."""
    link, latest = out / name, out / LATEST.format(name=name)
    if link.is_symlink():
        return Path(os.readlink(link)).name
    if latest.is_file():
        return Path(latest.read_text(encoding="utf-8").strip()).name
    return None


def _check_link(link: Path, out: Path) -> None:
    """Refuse to replace anything at ``link`` that is not an evpath link into ``runs/``."""
    if not link.is_symlink():
        if link.exists() or link.is_symlink():
            msg = (
                f"{link}: exists and is not the link evpath keeps to the latest run; "
                "move it away or choose another --out"
            )
            raise StoreError(msg)
        return
    target = os.readlink(link)
    parts = Path(target).parts
    if len(parts) != 2 or parts[0] != RUNS:
        msg = f"{link}: a link to {target}, not to a run in {out / RUNS}; move it away"
        raise StoreError(msg)


def _switch_link(out: Path, name: str, run_id: str) -> Path:
    """Point ``out/name`` at ``runs/run_id`` in one rename or, where no symbolic link can
    be made, write ``runs/run_id`` into ``out/<name>.latest`` in one rename. Returns the
    folder through which the run's files are reached: the link, or the run's own folder.
    """
    link, latest = out / name, out / LATEST.format(name=name)
    target = Path(RUNS) / run_id
    temporary = out / f".{name}.link.tmp"
    temporary.unlink(missing_ok=True)
    try:
        os.symlink(target, temporary)
    except (NotImplementedError, OSError) as exc:
        if not _no_symlinks(exc):
            raise
        temporary.write_text(f"{target.as_posix()}\n", encoding="utf-8")
        try:
            os.replace(temporary, latest)
        finally:
            temporary.unlink(missing_ok=True)
        if link.is_symlink():  # an earlier run's link would show that run
            link.unlink()
        return out / target
    try:
        os.replace(temporary, link)
    finally:
        temporary.unlink(missing_ok=True)
    latest.unlink(missing_ok=True)
    return link


def _no_symlinks(exc: BaseException) -> bool:
    """Whether ``exc`` says that symbolic links cannot be made here (by this user or on this
    file system), rather than that the folder cannot be written."""
    if isinstance(exc, NotImplementedError):
        return True
    unsupported = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS)
    privilege_not_held = 1314  # Windows: making links needs a privilege the user lacks
    return isinstance(exc, OSError) and (
        exc.errno in unsupported or getattr(exc, "winerror", None) == privilege_not_held
    )


def prune(out: Path, name: str, keep: int | None) -> None:
    """Keep the ``keep`` newest run folders of ``name`` (by run id) and the linked one.

    A folder is ``name``'s when it holds ``name``'s manifest: a scenario's runs and its
    ensembles' (``<scenario>-ensemble``) have run ids of the same form, and neither
    prunes the other's."""
    if keep is None:
        return
    runs = out / RUNS
    linked = _linked_run(out, name)
    found = sorted(
        (
            p.name
            for p in runs.iterdir()
            if RUN_ID.fullmatch(p.name) and (p / f"{name}.manifest.json").is_file()
        ),
        reverse=True,
    )
    for run_id in found[keep:]:
        if run_id != linked:
            shutil.rmtree(runs / run_id, ignore_errors=True)


def _stage(staging: Path, files: Mapping[str, tuple[str, bytes]]) -> Path:
    """Write ``files`` into the new folder ``staging``; on failure nothing stays."""
    try:
        staging.mkdir(parents=True)
        for file_name, data in files.values():
            _write_file(staging / file_name, data)
        _sync_folder(staging)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        where = exc.filename or staging
        msg = (
            f"{where}: cannot write the run's files ({reason(exc)}); earlier results are unchanged"
        )
        raise StoreError(msg) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _move_and_link(out: Path, name: str, staging: Path, stored: bool) -> tuple[Path, Path]:
    """Move ``staging`` to ``out/runs/`` and point ``out/name`` at it; returns its folder
    and the folder through which its files are reached (see :func:`_switch_link`)."""
    run_id = staging.name
    final = out / RUNS / run_id
    try:
        final.parent.mkdir(exist_ok=True)
        if final.exists():  # the same run published again: its files are already there
            shutil.rmtree(staging, ignore_errors=True)
        else:
            os.rename(staging, final)
        _sync_folder(final.parent)
        shown = _switch_link(out, name, run_id)
        _sync_folder(out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        in_store = "it is in the store, but " if stored else ""
        msg = (
            f"{exc.filename or out}: run {run_id} could not be published ({reason(exc)}); "
            f"{in_store}{out / name} still shows the earlier run"
        )
        raise StoreError(msg) from None
    return final, shown


def publish(
    out: str | Path,
    name: str,
    run_id: str,
    files: Mapping[str, tuple[str, bytes]],
    commit: Callable[[], object] | None = None,
    *,
    started: float | None = None,
    keep: int | None = KEEP_RUNS,
    wait: float = WAIT_SECONDS,
    notify: Notify = say,
) -> dict[str, Path]:
    """Write ``files`` (kind → (file name, content)) as run ``run_id`` of ``name`` in ``out``.

    ``commit`` (the store transaction) runs after the files are staged and before they are
    published; if it fails, nothing is published. Returns kind → path through the link
    ``out/name`` (stable across runs; without symbolic links, in the run's own folder),
    and ``run`` → the run's own folder.
    Errors: InputError when ``out`` is not a folder; StoreError, with the path and the
    reason, when the files cannot be written or published.
    """
    for label, value in (("scenario name", name), ("run id", run_id)):
        if not SAFE_NAME.fullmatch(value):
            msg = f"{label} {value!r}: not usable as a file name; allowed: letters, digits, '_', '.', '-'"
            raise InputError(msg)
    if name in (RUNS, STAGING):
        msg = (
            f"scenario name {name!r}: {out}/{name} holds evpath's run folders; choose another name"
        )
        raise InputError(msg)
    out = output_folder(Path(out))
    with folder_lock(out, wait, notify):
        try:
            clean_stale(out, time.time() if started is None else started)
            staging = _stage(out / STAGING / run_id, files)
            try:
                _check_link(out / name, out)
                if commit is not None:
                    commit()
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            final, shown = _move_and_link(out, name, staging, stored=commit is not None)
            with suppress(OSError):
                prune(out, name, keep)
        finally:
            with suppress(OSError):
                (out / STAGING).rmdir()  # only when empty
    paths = {kind: shown / file_name for kind, (file_name, _) in files.items()}
    paths["run"] = final
    return paths
