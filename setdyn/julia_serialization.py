"""A strict reader of the subset of Julia's ``Serialization`` format that the paper's reference files use.

Julia's standard library writes an 8-byte header (0x37 'JL', protocol
version, flags, 3 reserved bytes) and then each value as a one-byte tag
followed by its contents (the stdlib's ``Serialization.jl``). This reader
knows:

* arrays (tag 0x15) of Int8 .. Float64 (raw data, column-major, returned
  as NumPy arrays in their Julia shape) and of Any (returned as lists);
* tuples (0x14 short, 0x2d long), symbols, strings, Int64 (n in 0..32 is
  the single byte 0xdf + n; others in the Int32 range are 0x31 + int32),
  bits values (an Int8 .. Float64 tag followed by the bytes);
* types: a type below the value tags is ``0x00 <tag>`` (Float32 is 0x0d,
  Int64 0x08); others are 0x10 (name, module, parameter count,
  parameters); modules are 0x1f (package id, names, ``()``);
* immutable structs (0x34: the type, then the fields) of the few types the
  files hold, whose field counts are listed in ``_FIELDS`` (the stream does
  not say; Julia knows from the type): Base.UnitRange, NamedTuple and the
  ComponentArrays axes and arrays (a ComponentArray keeps its layout in its
  type parameters);
* back-references (0x2c, 0x2a, 0x2b) to earlier arrays, types, long
  symbols and shared objects, numbered in the order Julia numbers them.

Anything else (another tag, a struct whose fields are not listed, a
truncated file, bytes left over) is refused with a ValueError naming the
byte offset. No Julia is needed and nothing in the file is executed.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


#: Tags of Julia's Serialization (stdlib; the table is the same for every 1.x ser_version).
_TYPE_TAGS = {1: "Symbol", 2: "Int8", 3: "UInt8", 4: "Int16", 5: "UInt16", 6: "Int32", 7: "UInt32",
              8: "Int64", 9: "UInt64", 10: "Int128", 11: "UInt128", 12: "Float16", 13: "Float32",
              14: "Float64", 15: "Char", 16: "DataType", 20: "Tuple", 21: "Array", 31: "Module",
              33: "String"}
#: numpy dtypes of the bits types whose arrays and values can be read
_BITS = {"Int8": "<i1", "UInt8": "<u1", "Int16": "<i2", "UInt16": "<u2", "Int32": "<i4", "UInt32": "<u4",
         "Int64": "<i8", "UInt64": "<u8", "Int128": None, "UInt128": None, "Float16": "<f2",
         "Float32": "<f4", "Float64": "<f8"}
_SIZES = {"Int8": 1, "UInt8": 1, "Int16": 2, "UInt16": 2, "Int32": 4, "UInt32": 4, "Int64": 8, "UInt64": 8,
          "Int128": 16, "UInt128": 16, "Float16": 2, "Float32": 4, "Float64": 8}
_SYMBOL, _TUPLE, _ARRAY, _DATATYPE, _MODULE, _STRING = 1, 20, 21, 16, 31, 33
_UNDEFREF, _BACKREF, _LONGBACKREF, _SHORTBACKREF, _LONGTUPLE, _LONGSYMBOL = 41, 42, 43, 44, 45, 46
_LONGSTRING, _SHORTINT64, _OBJECT, _HEADER, _SHARED_REF = 48, 49, 52, 55, 57
_VALUE_TAGS = 68  # tags >= this are values in themselves
_VALUE_SYMBOLS = (
    "Any Array TypeVar Box Tuple Ptr return call :: Function = == === gotoifnot A B C M N T S X Y a b c d e f g h "
    "i j k l m n o p q r s t u v w x y z add_int sub_int mul_int add_float sub_float new mul_float bitcast start "
    "done next indexed_iterate getfield meta eq_int slt_int sle_int ne_int push_loc pop_loc pop arrayset "
    "arrayref apply_type inbounds getindex setindex! Core ! + Base static_parameter convert colon #self# #temp# "
    "tuple").split() + [""]
_FIRST_SYMBOL = 79  # :Any
_INT32_LITERALS = 190  # Int32(0) .. Int32(32)
_INT64_LITERALS = 223  # Int64(0) .. Int64(32)
#: Protocol versions accepted: the reference's files are version 17 (Julia 1.8); the values read here are
#: written the same way in every version from 10 to 25 (Julia 1.x up to 1.11).
_SER_VERSIONS = range(10, 26)


class JuliaSymbol(str):
    """A Julia Symbol (distinguished from a String)."""


@dataclass(frozen=True)
class JuliaModule:
    """A module, by its path from the root module: ('Core',), ('ComponentArrays',)."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class JuliaType:
    """A concrete Julia type: name, module path and parameters (types or values)."""

    name: str
    module: tuple[str, ...]
    params: tuple = ()

    def __str__(self) -> str:
        inner = ", ".join(str(p) for p in self.params)
        return f"{self.name}{{{inner}}}" if self.params else self.name


@dataclass(frozen=True)
class JuliaObject:
    """An instance of an immutable struct: its type and its field values in order."""

    type: JuliaType
    fields: tuple


#: Number of fields of the structs these files contain (the stream does not say; Julia knows from the type).
_FIELDS = {("Base", "UnitRange"): 2, ("ComponentArrays", "ComponentArray"): 2, ("ComponentArrays", "Axis"): 0,
           ("ComponentArrays", "ShapedAxis"): 0, ("ComponentArrays", "FlatAxis"): 0,
           ("ComponentArrays", "NullAxis"): 0, ("ComponentArrays", "ViewAxis"): 1,
           ("ComponentArrays", "PartitionedAxis"): 1}
#: Types serialized without a parameter count (they have no parameters).
_PARAMETERLESS: set[tuple[str, str]] = {("ComponentArrays", "FlatAxis"), ("ComponentArrays", "NullAxis")}


def _builtin(name: str) -> JuliaType:
    return JuliaType(name, ("Core",))


class _Reader:
    """A strict reader of one Julia Serialization stream (bytes), value after value."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.name, self.pos = data, name, 0
        self.table: dict[int, Any] = {}
        self.counter = 0
        self.version: int | None = None

    # --- low level
    def fail(self, what: str, at: int | None = None) -> ValueError:
        return ValueError(f"{self.name}: {what} at byte {self.pos if at is None else at} (this reader knows "
                          "the Julia Serialization of the reference repository's trial and model files only)")

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"{self.name}: truncated: needs {n} more bytes at byte {self.pos}, "
                             f"the file has {len(self.data)}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def unpack(self, fmt: str) -> Any:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    @property
    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def slot(self) -> int:
        s = self.counter
        self.counter += 1
        return s

    # --- values
    def header(self) -> None:
        """The 8-byte header: 0x37 'JL', protocol version, flags (little-endian, 64-bit), 3 zero bytes."""
        at = self.pos
        if self.take(3) != b"7JL":
            raise self.fail("no Julia Serialization header ('7JL')", at)
        self.finish_header(at)

    def finish_header(self, at: int) -> None:
        version, flags = self.u8(), self.u8()
        self.take(3)
        if version not in _SER_VERSIONS:
            raise self.fail(f"Serialization protocol version {version} (known: {_SER_VERSIONS.start}.."
                            f"{_SER_VERSIONS.stop - 1})", at)
        if flags != 0x04:
            raise self.fail(f"header flags {flags:#04x} (only little-endian, 64-bit files, 0x04, are known)", at)
        self.version = version

    def value(self) -> Any:
        at = self.pos
        tag = self.u8()
        if tag == 0:  # a type (or value) whose tag is below the value tags
            t = self.u8()
            if t not in _TYPE_TAGS:
                raise self.fail(f"unknown type tag {t}", at)
            return _builtin(_TYPE_TAGS[t])
        if tag >= _VALUE_TAGS:
            return self.literal(tag, at)
        if tag == _HEADER:
            if self.take(2) != b"JL":
                raise self.fail("a header tag without 'JL'", at)
            self.finish_header(at)
            return self.value()
        if tag in (_TUPLE, _LONGTUPLE):
            n = self.u8() if tag == _TUPLE else self.unpack("i")
            return tuple(self.value() for _ in range(n))
        if tag == _SHORTBACKREF or tag == _BACKREF or tag == _LONGBACKREF:
            ref = self.unpack({_SHORTBACKREF: "H", _BACKREF: "i", _LONGBACKREF: "q"}[tag])
            if ref not in self.table:
                raise self.fail(f"a back-reference to object {ref}, which was never stored", at)
            return self.table[ref]
        if tag == _ARRAY:
            return self.array(at)
        if tag == _DATATYPE:
            return self.datatype(at)
        if tag == _OBJECT:
            t = self.value()
            if not isinstance(t, JuliaType):
                raise self.fail(f"an object whose type is {t!r}, not a type", at)
            return self.struct(t, at)
        if tag == _SHARED_REF:
            s = self.slot()
            v = self.value()
            self.table[s] = v
            return v
        if tag in (_SYMBOL, _LONGSYMBOL):
            n = self.u8() if tag == _SYMBOL else self.unpack("i")
            sym = JuliaSymbol(self.take(n).decode("utf-8"))
            if n > 7:
                self.table[self.slot()] = sym
            return sym
        if tag in (_STRING, _LONGSTRING):
            n = self.u8() if tag == _STRING else self.unpack("q")
            return self.take(n).decode("utf-8")
        if tag == _SHORTINT64:
            return int(self.unpack("i"))
        if tag == _MODULE:
            return self.module(at)
        if tag in _TYPE_TAGS and _TYPE_TAGS[tag] in _SIZES:  # a bits value: Int8 .. Float64
            return self.bits(_TYPE_TAGS[tag])
        raise self.fail(f"unsupported Serialization tag {tag}", at)

    def literal(self, tag: int, at: int) -> Any:
        if tag >= _INT64_LITERALS:
            return tag - _INT64_LITERALS
        if tag >= _INT32_LITERALS:
            return np.int32(tag - _INT32_LITERALS)
        if tag >= _FIRST_SYMBOL:
            i = tag - _FIRST_SYMBOL
            if i < len(_VALUE_SYMBOLS):
                return JuliaSymbol(_VALUE_SYMBOLS[i])
            raise self.fail(f"reserved tag {tag}", at)
        singles = {68: (), 69: _builtin("Bool"), 70: _builtin("Any"), 75: _builtin("Tuple"), 76: False,
                   77: True, 78: None}
        if tag in singles:
            return singles[tag]
        raise self.fail(f"unsupported value tag {tag}", at)

    def bits(self, name: str) -> Any:
        n = _SIZES[name]
        raw = self.take(n)
        if _BITS[name] is None:
            return int.from_bytes(raw, "little", signed=name.startswith("Int"))
        return np.frombuffer(raw, dtype=_BITS[name])[0]

    def module(self, at: int) -> JuliaModule:
        """Module: (uuid or nothing), root name, sub-module names..., ()."""
        uuid = self.value()
        if uuid is not None and not isinstance(uuid, int):
            raise self.fail(f"a module whose package id is {uuid!r}", at)
        path = [self.value()]
        while True:
            v = self.value()
            if v == ():
                break
            path.append(v)
        if not all(isinstance(p, JuliaSymbol) for p in path):
            raise self.fail(f"a module path {path!r} that is not made of symbols", at)
        return JuliaModule(tuple(path))

    def datatype(self, at: int) -> JuliaType:
        s = self.slot()
        name = self.value()
        mod = self.value()
        if not isinstance(name, JuliaSymbol) or not isinstance(mod, JuliaModule):
            raise self.fail(f"a type named {name!r} in {mod!r}", at)
        params: tuple = ()
        if (mod.path[0], name) not in _PARAMETERLESS:
            n = self.unpack("i")
            if not 0 <= n <= 64:
                raise self.fail(f"a type with {n} parameters", at)
            params = tuple(self.value() for _ in range(n))
        t = JuliaType(str(name), mod.path, params)
        self.table[s] = t
        return t

    def struct(self, t: JuliaType, at: int) -> JuliaObject:
        if t.module == ("Core",) and t.name == "NamedTuple":
            nf = len(t.params[0]) if t.params and isinstance(t.params[0], tuple) else -1
        else:
            nf = _FIELDS.get((t.module[0], t.name), -1)
        if nf < 0:
            raise self.fail(f"an object of type {t}, which this reader does not know", at)
        fields = []
        for _ in range(nf):
            if self.data[self.pos:self.pos + 1] == bytes([_UNDEFREF]):
                raise self.fail(f"an undefined field in an object of type {t.name}")
            fields.append(self.value())
        return JuliaObject(t, tuple(fields))

    def array(self, at: int) -> Any:
        s = self.slot()
        d1 = self.value()
        if isinstance(d1, JuliaType):
            elty, d1 = d1, self.value()
        else:
            elty = _builtin("UInt8")
        if isinstance(d1, (int, np.integer)) and not isinstance(d1, bool):
            dims: tuple[int, ...] = (int(d1),)
        elif isinstance(d1, tuple) and all(isinstance(d, (int, np.integer)) for d in d1):
            dims = tuple(int(d) for d in d1)
        else:
            raise self.fail(f"an array with size {d1!r}", at)
        if any(d < 0 for d in dims):
            raise self.fail(f"an array with negative size {dims}", at)
        n = math.prod(dims)
        if elty.module == ("Core",) and _BITS.get(elty.name):
            dt = np.dtype(_BITS[elty.name])
            a = np.frombuffer(self.take(n * dt.itemsize), dtype=dt).reshape(dims, order="F").copy()
        elif elty.module == ("Core",) and elty.name == "Any":
            items = []
            for _ in range(n):
                if self.data[self.pos:self.pos + 1] == bytes([_UNDEFREF]):
                    raise self.fail("an undefined array element")
                items.append(self.value())
            a = items if len(dims) == 1 else np.array(items, dtype=object).reshape(dims, order="F")
        else:
            raise self.fail(f"an array of element type {elty}, which this reader does not know", at)
        self.table[s] = a
        return a


def read_values(path: str | Path, n_values: int) -> list[Any]:
    """The values of a Julia Serialization file that holds exactly `n_values` of them, in order.

    Arrays of bits types come back as NumPy arrays in their Julia shape
    (column-major data, read in Fortran order), Vector{Any} as lists, tuples
    as tuples, types as :class:`JuliaType`, structs as :class:`JuliaObject`.
    Raises FileNotFoundError for a missing file and ValueError (naming the
    byte offset) for anything this reader does not know, a truncated file or
    bytes left over.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    r = _Reader(path.read_bytes(), path.name)
    r.header()
    out = []
    try:
        for _ in range(n_values):
            if r.at_end:
                raise ValueError(f"{path.name}: truncated: holds {len(out)} values, expected {n_values}")
            out.append(r.value())
    except RecursionError:
        raise r.fail("values nested too deeply") from None
    if not r.at_end:
        raise r.fail(f"{len(r.data) - r.pos} bytes left over after {n_values} values")
    return out

