"""Read TensorFlow checkpoints (`model.save_weights(prefix)`) without TensorFlow.

A checkpoint is TensorFlow's tensor bundle: `prefix.index`, a LevelDB-format table (SSTable)
that maps each variable name to a `BundleEntryProto` (dtype, shape, shard, byte offset and size),
and `prefix.data-<shard>-of-<shards>`, the tensors' raw little-endian bytes. The formats are
those of tensorflow/core/util/tensor_bundle/tensor_bundle.proto and LevelDB's table_format.md:

    file   = data blocks … meta-index block, index block, footer (48 bytes)
    footer = BlockHandle(meta-index), BlockHandle(index), zero padding to 40 bytes, magic (8 bytes)
    block  = entries, restart offsets (uint32 each), restart count (uint32), then a 5-byte trailer
    entry  = varint shared, varint unshared, varint value length, key[shared:], value

Only uncompressed tables of numeric tensors are read (what `save_weights` writes); string
tensors such as the object graph are skipped.
"""
from __future__ import annotations

import os
import struct

import numpy as np

from graphqd.errors import GraphqdError

MAGIC = 0xDB4775248B80FB57
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8, 9: np.int64,
          10: np.bool_, 17: np.uint16, 19: np.float16, 22: np.uint32, 23: np.uint64}


def _varint(buffer: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buffer[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as int, length-delimited as bytes."""
    out, at = [], 0
    while at < len(message):
        key, at = _varint(message, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(message, at)
        elif wire == 2:
            size, at = _varint(message, at)
            value, at = message[at:at + size], at + size
        elif wire == 5:
            value, at = struct.unpack_from("<I", message, at)[0], at + 4
        elif wire == 1:
            value, at = struct.unpack_from("<Q", message, at)[0], at + 8
        else:
            raise GraphqdError(f"unsupported protobuf wire type {wire} in a checkpoint index")
        out.append((number, value))
    return out


def _block(table: bytes, handle: bytes, name: str) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of the block that `handle` (varint offset, varint size) points to."""
    offset, at = _varint(handle, 0)
    size, _ = _varint(handle, at)
    if table[offset + size] != 0:
        raise GraphqdError(f"'{name}' holds a compressed table block; only uncompressed checkpoints are read")
    block = table[offset:offset + size]
    restarts = struct.unpack_from("<I", block, size - 4)[0]
    end, at, key, entries = size - 4 - 4 * restarts, 0, b"", []
    while at < end:
        shared, at = _varint(block, at)
        unshared, at = _varint(block, at)
        length, at = _varint(block, at)
        key = key[:shared] + block[at:at + unshared]
        at += unshared
        entries.append((key, block[at:at + length]))
        at += length
    return entries


def read_tf_checkpoint(prefix: str) -> dict[str, np.ndarray]:
    """Every numeric variable of the TensorFlow checkpoint `prefix` (the path without `.index`),
    by its checkpoint key, e.g. ``dense1/kernel/.ATTRIBUTES/VARIABLE_VALUE``."""
    index = prefix + ".index"
    if not os.path.isfile(index):
        raise GraphqdError(f"'{index}' does not exist; give a TensorFlow checkpoint prefix (the path without .index)")
    with open(index, "rb") as fh:
        table = fh.read()
    if len(table) < 48 or struct.unpack_from("<Q", table, len(table) - 8)[0] != MAGIC:
        raise GraphqdError(f"'{index}' is not a TensorFlow checkpoint index (no table footer)")
    footer = table[-48:]
    _, at = _varint(footer, 0)
    _, at = _varint(footer, at)                                   # skip the meta-index handle
    entries = [entry for _, handle in _block(table, footer[at:], index) for entry in _block(table, handle, index)]
    header = dict(_fields(dict(entries)[b""]))
    shards = header.get(1, 1)
    if header.get(2, 0) != 0:
        raise GraphqdError(f"'{index}' was written big-endian; only little-endian checkpoints are read")
    data = {}
    variables = {}
    for key, value in entries:
        if not key:
            continue
        entry = dict(_fields(value))
        dtype = entry.get(1, 0)
        if dtype not in DTYPES:
            continue                                              # strings (the object graph) and the like
        shape = [dict(_fields(dim)).get(1, 0) for number, dim in _fields(entry.get(2, b"")) if number == 2]
        shard = entry.get(3, 0)
        if shard not in data:
            path = f"{prefix}.data-{shard:05d}-of-{shards:05d}"
            if not os.path.isfile(path):
                raise GraphqdError(f"'{path}' does not exist; a checkpoint needs its .index and its data files")
            with open(path, "rb") as fh:
                data[shard] = fh.read()
        offset, size = entry.get(4, 0), entry.get(5, 0)
        array = np.frombuffer(data[shard], dtype=np.dtype(DTYPES[dtype]).newbyteorder("<"),
                              count=size // np.dtype(DTYPES[dtype]).itemsize, offset=offset)
        variables[key.decode()] = array.reshape(shape).copy()
    return variables
