"""Write .proto sources for the OTLP trace request from the compiled descriptors shipped in opentelemetry-proto."""
import os, sys
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

TYPES = {F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float", F.TYPE_INT64: "int64", F.TYPE_UINT64: "uint64",
         F.TYPE_INT32: "int32", F.TYPE_FIXED64: "fixed64", F.TYPE_FIXED32: "fixed32", F.TYPE_BOOL: "bool",
         F.TYPE_STRING: "string", F.TYPE_BYTES: "bytes", F.TYPE_UINT32: "uint32", F.TYPE_SFIXED32: "sfixed32",
         F.TYPE_SFIXED64: "sfixed64", F.TYPE_SINT32: "sint32", F.TYPE_SINT64: "sint64"}

def enum(e, ind):
    out = [f"{ind}enum {e.name} {{"]
    out += [f"{ind}  {v.name} = {v.number};" for v in e.value]
    return out + [f"{ind}}}"]

def field(f, ind):
    t = TYPES.get(f.type) or f.type_name  # fully-qualified ".pkg.Msg" works in protoc
    lab = "repeated " if f.label == F.LABEL_REPEATED else ("optional " if f.proto3_optional else "")
    return f"{ind}{lab}{t} {f.name} = {f.number};"

def message(m, ind):
    out = [f"{ind}message {m.name} {{"]
    for e in m.enum_type: out += enum(e, ind + "  ")
    for n in m.nested_type: out += message(n, ind + "  ")
    for r in m.reserved_range:
        out.append(f"{ind}  reserved {r.start}{'' if r.end - 1 == r.start else ' to %d' % (r.end - 1)};")
    real_oneofs = {}
    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            real_oneofs.setdefault(f.oneof_index, []).append(f)
    done = set()
    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            i = f.oneof_index
            if i in done: continue
            done.add(i)
            out.append(f"{ind}  oneof {m.oneof_decl[i].name} {{")
            out += [field(g, ind + "    ") for g in real_oneofs[i]]
            out.append(f"{ind}  }}")
        else:
            out.append(field(f, ind + "  "))
    return out + [f"{ind}}}"]

def write(fd, root):
    p = descriptor_pb2.FileDescriptorProto.FromString(fd.serialized_pb)
    lines = [f'syntax = "{p.syntax or "proto2"}";', f"package {p.package};"]
    lines += [f'import "{d}";' for d in p.dependency]
    for e in p.enum_type: lines += enum(e, "")
    for m in p.message_type: lines += message(m, "")
    path = os.path.join(root, p.name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write("\n".join(lines) + "\n")
    for d in fd.dependencies: write(d, root)

root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/chparse/schemas"
write(trace_service_pb2.DESCRIPTOR, root)


def flattened() -> str:
    """All messages of the trace request in one self-contained file (package `otlp`), for format_schema_source='string'."""
    import re
    seen, files = set(), []
    def walk(fd):
        if fd.name in seen: return
        seen.add(fd.name)
        for d in fd.dependencies: walk(d)
        files.append(descriptor_pb2.FileDescriptorProto.FromString(fd.serialized_pb))
    walk(trace_service_pb2.DESCRIPTOR)
    lines = ['syntax = "proto3";', "package otlp;"]
    for p in files:
        for e in p.enum_type: lines += enum(e, "")
        for m in p.message_type: lines += message(m, "")
    text = "\n".join(lines) + "\n"
    return re.sub(r"\.opentelemetry\.proto\.[a-z.]+\.v1\.", ".otlp.", text)

if __name__ == "__main__" or True:
    open(os.path.join(root, "otlp_trace_flat.proto"), "w").write(flattened())
