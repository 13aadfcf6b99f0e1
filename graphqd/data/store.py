"""The HDF5 trajectory store of DESIGN.md §2.2.

One file per dataset. Root attributes: `system`, `graphqd_version`, `config` (the resolved
YAML text), `seed`, `complete`, the physical parameters, and the bookkeeping of resumable
writes: `runs_done` (runs written, in order) and, for a shard, `shard`, `run_offset` and
`runs_total`. Arrays carry the runs on their first axis; arrays shared by all runs
(`t`, `x`) have none.

Writes are resumable: runs are written in blocks, and `runs_done` moves only after a
block is on disk, so a rerun of an interrupted `simulate` loses and duplicates nothing.
"""
from __future__ import annotations

import os
from typing import Iterable

import h5py
import numpy as np
import yaml

from graphqd import __version__
from graphqd import config as cfg
from graphqd.errors import ConfigError, StoreError

STRING = h5py.string_dtype()


class StoreFile(h5py.File):
    """An h5py File that, leaving a ``with`` block on an exception, tags the exception with its
    file name (`damaged_store` names the file after the block has closed it)."""

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and not hasattr(exc, "store_path"):
            try:
                exc.store_path = self.filename
            except (AttributeError, TypeError, ValueError):  # closed already, or an exception without a __dict__
                pass
        return super().__exit__(exc_type, exc, tb)


def _open(path: str, mode: str) -> h5py.File:
    try:
        # new files in the HDF5 1.8 format: it checksums the metadata (superblock, object headers,
        # attributes), so a damaged store fails to read instead of reading wrong shapes or values;
        # unlike the 1.10 format it sets no "open for writing" flag, which would lock out a store
        # whose writer was killed until `h5clear` is run on it
        return StoreFile(path, mode, **({"libver": "v108"} if mode == "w" else {}))
    except FileNotFoundError:
        raise StoreError(f"data file '{path}' does not exist") from None
    except BlockingIOError:  # HDF5's file lock: another process is writing it, or has it open while this writes
        raise StoreError(f"'{path}' is open in another process (HDF5 file lock); wait until that process has "
                         f"finished with it") from None
    except OSError:
        raise StoreError(f"'{path}' is not a readable HDF5 file (truncated or foreign); "
                         "delete it and rerun the command that made it") from None


def damaged_store(error: BaseException) -> StoreError | None:
    """The one-line error for an exception HDF5 raised while reading a damaged file (flipped or
    missing bytes past the header), naming the file (tagged by `StoreFile`, or found among the
    open h5py objects of the failing frames); None when `error` did not come from h5py."""
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    if not any("h5py" in frame.f_code.co_filename for frame in frames):
        return None
    path = getattr(error, "store_path", None)
    for frame in reversed(frames):
        if path is not None:
            break
        path = next((name for value in frame.f_locals.values() if (name := _file_name(value))), None)
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return StoreError(f"{f'{path!r}' if path else 'an HDF5 store'} is damaged and cannot be read ({detail}); "
                      "delete it and rerun the command that made it")


def _file_name(value) -> str | None:
    """The file name of an open h5py object or of its attributes (`.attrs`), else None."""
    try:
        if isinstance(value, h5py.HLObject):
            return value.file.filename
        if isinstance(value, h5py.AttributeManager):
            return h5py.h5f.get_name(h5py.h5i.get_file_id(value._id)).decode()
    except Exception:  # closed: its file is gone
        return None
    return None


def open_store(path: str, system: str | None = None, require_complete: bool = True) -> h5py.File:
    """Open a store read-only, checking that it is a graphqd store of `system` and complete."""
    handle = _open(path, "r")
    found = handle.attrs.get("system")
    if found is None or "graphqd_version" not in handle.attrs:
        handle.close()
        raise StoreError(f"'{path}' is an HDF5 file but not a graphqd trajectory store (no 'system' attribute)")
    if system is not None and found != system:
        handle.close()
        raise StoreError(f"'{path}' holds {found!r} data, but {system!r} data is needed here")
    if require_complete and not bool(handle.attrs.get("complete", False)):
        done, total = int(handle.attrs.get("runs_done", 0)), int(handle.attrs.get("runs_total", 0))
        handle.close()
        raise StoreError(f"'{path}' is incomplete ({done} of {total} runs written); "
                         "rerun the same simulate command to finish it")
    return handle


def run_count(handle: h5py.File) -> int:
    """Number of trajectories in an open store (the length of its per-run arrays)."""
    return int(handle[next(k for k in handle if handle[k].attrs.get("per_run", False))].shape[0])


def create_checked(group: h5py.Group, name: str, data: np.ndarray | None = None, shape=None, dtype=None,
                   chunks=None) -> h5py.Dataset:
    """A dataset with a Fletcher-32 checksum on every chunk (so HDF5 detects damaged data on
    read); arrays shared by all runs are stored as one chunk. Empty arrays, which cannot be
    chunked, and strings, which HDF5 cannot filter, are stored without."""
    shape = data.shape if data is not None else shape
    if data is not None and chunks is None and data.size and data.ndim:
        chunks = data.shape
    dtype = np.dtype(dtype if data is None else data.dtype)
    chunked = chunks is not None and bool(np.prod(shape))
    return group.create_dataset(name, shape=shape, dtype=dtype, data=data, chunks=chunks if chunked else None,
                                fletcher32=chunked and dtype.kind != "O")  # HDF5 filters no variable-length data


def _same_config(found: str | None, config_text: str, schema: dict | None) -> bool:
    """Whether a store's `config` attribute is `config_text`, after the defaults of `schema`."""
    if found == config_text:
        return True
    if schema is None or found is None:
        return False
    try:
        return cfg.dump(cfg.validate(yaml.safe_load(found), schema)) == config_text
    except (ConfigError, yaml.YAMLError):
        return False


class StoreWriter:
    """Writes runs into a new or resumed store; use as a context manager."""

    def __init__(self, path: str, system: str, config_text: str, seed: int, attrs: dict,
                 shared: dict[str, np.ndarray], per_run: dict[str, tuple[tuple[int, ...], object]],
                 runs_total: int, run_offset: int = 0, shard: str | None = None, schema: dict | None = None):
        """Create `path`, or reopen it to resume when it was made by the same config.

        Args:
            schema: the recipe's schema; a store's config that lacks keys added to it since
                reads as the same config when, with their defaults filled in, it is.
            shared: arrays common to all runs (e.g. `t`), written once.
            per_run: name -> (shape of one run, dtype); stored as (runs_total, *shape).
            runs_total: runs in this file; run_offset: index of its first run in the dataset.
        """
        self.path = path
        if os.path.exists(path):
            # checked read-only: a complete store is never written again, so rerunning the command that made it
            # works while other processes read it
            self.file = _open(path, "r")
            attrs_found = self.file.attrs
            if attrs_found.get("system") != system or "graphqd_version" not in attrs_found:
                self.file.close()
                raise StoreError(f"'{path}' exists and is not a graphqd {system} store; choose another --out")
            if not _same_config(attrs_found.get("config"), config_text, schema) \
                    or attrs_found.get("shard", "") != (shard or "") \
                    or int(attrs_found.get("runs_total", -1)) != runs_total:
                self.file.close()
                raise StoreError(f"'{path}' exists and was made with a different config or shard; "
                                 "delete it or choose another --out")
            if not self.complete:
                self.file.close()
                self.file = _open(path, "r+")
        else:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            # the empty layout is built under another name and renamed into place, so a process
            # killed while HDF5 writes its first metadata leaves no half-made store at `path`
            partial = path + ".partial"
            with _open(partial, "w") as f:
                f.attrs.update({"system": system, "graphqd_version": __version__, "config": config_text,
                                "seed": seed, "complete": False, "runs_done": 0, "runs_total": runs_total,
                                "run_offset": run_offset, "shard": shard or ""})
                for key, value in attrs.items():
                    f.attrs[key] = value
                for name, array in shared.items():
                    create_checked(f, name, data=np.asarray(array))
                for name, (shape, dtype) in per_run.items():
                    chunk = (1,) + tuple(min(s, 256) if i == 0 else s for i, s in enumerate(shape))
                    dataset = create_checked(f, name, shape=(runs_total, *shape), dtype=dtype,
                                             chunks=chunk if runs_total > 0 and all(shape) else None)
                    dataset.attrs["per_run"] = True
            os.replace(partial, path)
            self.file = _open(path, "r+")

    @property
    def runs_done(self) -> int:
        return int(self.file.attrs["runs_done"])

    @property
    def complete(self) -> bool:
        return bool(self.file.attrs["complete"])

    @property
    def records_done(self) -> int:
        """Snapshots already written of the block of runs at `runs_done` (time-chunked writes)."""
        return int(self.file.attrs.get("records_done", 0))

    def write(self, start: int, arrays: dict[str, np.ndarray], records: slice | None = None,
              runs_finished: bool = True) -> None:
        """Write a block of runs starting at `start` (== runs_done).

        With `records`, only those snapshots (second axis) of the block are written; the block
        counts as done once a write has `runs_finished`, and until then `records_done` tells
        where a resumed run continues.
        """
        if start != self.runs_done:
            raise StoreError(f"'{self.path}': block starts at run {start} but {self.runs_done} runs are written")
        count = None
        for name, values in arrays.items():
            values = np.asarray(values)
            count = len(values)
            if records is None or self.file[name].ndim < 2:
                self.file[name][start:start + count] = values
            else:
                self.file[name][start:start + count, records] = values
        self.file.flush()
        if runs_finished:
            self.file.attrs["runs_done"] = start + (count or 0)
            self.file.attrs["records_done"] = 0
        else:
            self.file.attrs["records_done"] = records.stop
        self.file.flush()

    def finish(self) -> None:
        if self.complete:
            return
        if self.runs_done != int(self.file.attrs["runs_total"]):
            raise StoreError(f"'{self.path}': only {self.runs_done} runs written, cannot mark complete")
        self.file.attrs["complete"] = True
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "StoreWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def shard_range(n_runs: int, shard: str | None) -> tuple[int, int]:
    """Runs [start, stop) of shard "i/n" (0-based i) of a dataset of n_runs."""
    if shard is None:
        return 0, n_runs
    try:
        i, n = (int(v) for v in shard.split("/"))
    except ValueError:
        raise StoreError(f"--shard {shard!r} must be i/n with integers 0 <= i < n") from None
    if not (n >= 1 and 0 <= i < n):
        raise StoreError(f"--shard {shard!r} must be i/n with integers 0 <= i < n")
    return i * n_runs // n, (i + 1) * n_runs // n


def merge_shards(paths: Iterable[str], out: str) -> int:
    """Concatenate complete shard files of one dataset into `out`; returns the number of runs.

    The shards must share system and config and together cover the runs exactly once.
    """
    paths = list(paths)
    if not paths:
        raise StoreError("merge needs at least one shard file")
    if os.path.exists(out):
        raise StoreError(f"'{out}' already exists; merge writes a new file")
    handles = [open_store(p) for p in paths]
    try:
        first = handles[0]
        for path, h in zip(paths, handles):
            if h.attrs["config"] != first.attrs["config"] or h.attrs["system"] != first.attrs["system"]:
                raise StoreError(f"'{path}' was made with a different config than '{paths[0]}'")
        order = sorted(range(len(handles)), key=lambda k: int(handles[k].attrs["run_offset"]))
        position = 0
        for k in order:
            if int(handles[k].attrs["run_offset"]) != position:
                raise StoreError(f"shards do not cover the runs contiguously: run {position} is missing or "
                                 f"'{paths[k]}' overlaps another shard")
            position += int(handles[k].attrs["runs_total"])
        tmp = out + ".partial"
        with _open(tmp, "w") as dst:
            for key, value in first.attrs.items():
                dst.attrs[key] = value
            dst.attrs.update({"runs_total": position, "runs_done": position, "run_offset": 0, "shard": "",
                              "complete": True})
            for name, source in first.items():
                if not source.attrs.get("per_run", False):
                    create_checked(dst, name, data=source[()])
                    continue
                target = create_checked(dst, name, shape=(position, *source.shape[1:]), dtype=source.dtype,
                                        chunks=source.chunks if position else None)
                target.attrs["per_run"] = True
                for k in order:
                    start, block = int(handles[k].attrs["run_offset"]), handles[k][name]
                    for begin in range(0, len(block), 64):
                        target[start + begin:start + min(begin + 64, len(block))] = block[begin:begin + 64]
        os.replace(tmp, out)
        return position
    finally:
        for h in handles:
            h.close()
