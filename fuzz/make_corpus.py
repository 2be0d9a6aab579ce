#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/ (committed; rerun after a wire
change): /usr/bin/python3 fuzz/make_corpus.py <dir holding mp_client>, e.g.
build/proxy/python (Debian's python3-protobuf)."""
import os
import struct
import sys

sys.path.insert(0, sys.argv[1])
from mp_client._proto import session_pb2, value_pb2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = b"mp-local/1\n"


def val(x):
    v = value_pb2.Value()
    if x is None:
        v.none.SetInParent()
    elif isinstance(x, bool):
        v.bool_value = x
    elif isinstance(x, int):
        v.int_value = x
    elif isinstance(x, float):
        v.float_value = x
    elif isinstance(x, str):
        v.str_value = x
    elif isinstance(x, bytes):
        v.bytes_value = x
    elif isinstance(x, list):
        v.list_value.SetInParent()
        for e in x:
            v.list_value.items.append(val(e))
    elif isinstance(x, tuple):
        v.tuple_value.SetInParent()
        for e in x:
            v.tuple_value.items.append(val(e))
    elif isinstance(x, dict):
        v.dict_value.SetInParent()
        for k, e in x.items():
            v.dict_value.keys.append(val(k))
            v.dict_value.values.append(val(e))
    return v


def nested(depth):
    x = 1
    for _ in range(depth):
        x = [x]
    return x


def proxy():
    v = value_pb2.Value()
    v.proxy.id = 7
    v.proxy.type = 1
    return v


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


values = {
    "none": None, "bool": True, "int": -(2**63), "float": float("nan"),
    "str": "h\u00e9llo", "bytes": b"\x00\xff", "list": [1, "a", None],
    "tuple": (1, (2.5, b"x")), "dict": {"a": 1, 2: [3], (1, 2): {"k": "v"}},
    "deep32": nested(32), "deep35": nested(35),
}
for name, x in values.items():
    write("wire_codec", name, val(x).SerializeToString())
write("wire_codec", "proxy", proxy().SerializeToString())
bad_dict = value_pb2.Value()
bad_dict.dict_value.keys.append(val(1))  # a key without a value
write("wire_codec", "dict_mismatch", bad_dict.SerializeToString())
unhashable = value_pb2.Value()
unhashable.dict_value.keys.append(val([1]))
unhashable.dict_value.values.append(val(1))
write("wire_codec", "dict_unhashable", unhashable.SerializeToString())
write("wire_codec", "bad_utf8", b"\x2a\x02\xc3\x28")


def frame(msg):
    data = msg.SerializeToString()
    return struct.pack("<I", len(data)) + data


hello = session_pb2.ClientMessage()
hello.hello.client_nonce = b"n" * 32
hello.hello.protocol_version = 1
hello.hello.pid = 1234
hello.hello.client_name = "fuzz"
calls = session_pb2.ClientMessage()
c = calls.calls.add()
c.call_id = 1
c.create.SetInParent()
c = calls.calls.add()
c.call_id = 2
c.object_id = 9
c.release.SetInParent()
# Two control bytes (frame size limit, write size), then the stream.
write("local_frame", "hello", b"\x40\x31" + MAGIC + frame(hello))
write("local_frame", "two_frames_small_writes",
      b"\x40\x01" + MAGIC + frame(hello) + frame(calls))
write("local_frame", "too_large", b"\x00\x21" + MAGIC + frame(hello))
write("local_frame", "partial", b"\x40\xf1" + MAGIC + frame(calls)[:-3])
write("local_frame", "bad_magic", b"\x40\x11" + b"PRI * HTTP/2.0\r\n\r\n")
write("local_frame", "empty_frame", b"\x40\x21" + MAGIC + b"\0\0\0\0")

# session: a control byte (even: the harness authenticates first), then
# frames. Each seed creates one object of a type (object_id 0 is then the
# first object the session was handed) and calls every op of its type with
# default arguments, one message per op.
OPS = {
    "DICT": "dict", "LIST": "list", "NAMESPACE": "namespace",
    "VALUE": "value", "ARRAY": "array", "LOCK": "acquirer",
    "RLOCK": "acquirer", "SEMAPHORE": "acquirer",
    "BOUNDED_SEMAPHORE": "acquirer", "CONDITION": "condition",
    "EVENT": "event", "BARRIER": "barrier", "QUEUE": "queue",
    "JOINABLE_QUEUE": "queue", "CUSTOM": "custom",
}
for type_name, field in OPS.items():
    script = b"\x00"
    create = session_pb2.ClientMessage()
    c = create.calls.add()
    c.call_id = 1
    c.create.type = value_pb2.ObjectType.Value(type_name)
    if type_name in ("VALUE", "ARRAY"):
        c.create.typecode = "d"
    c.create.size = 2
    if type_name == "CUSTOM":
        c.create.type_name = "Unknown"
    script += frame(create)
    op_type = session_pb2.Call.DESCRIPTOR.fields_by_name[field].message_type
    call_id = 2
    for op in op_type.oneofs[0].fields if op_type.oneofs else []:
        m = session_pb2.ClientMessage()
        c = m.calls.add()
        c.call_id = call_id
        call_id += 1
        c.object_id = 0
        getattr(getattr(c, field), op.name).SetInParent()
        script += frame(m)
    write("session", type_name.lower(), script)
# The handshake itself, unassisted: a Hello, then a wrong proof.
bad_auth = session_pb2.ClientMessage()
bad_auth.auth.client_proof = b"x" * 32
write("session", "handshake_wrong_proof", b"\x01" + frame(hello) + frame(bad_auth))
