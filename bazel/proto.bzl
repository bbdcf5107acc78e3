"""portico_proto_library: C++ code from .proto files with Debian's protoc, no rules_proto."""

def portico_proto_library(name, srcs, deps = [], grpc = False, visibility = None):
    """Generates <name> (a cc_library) from srcs (paths relative to the repo root).

    deps: other portico_proto_library targets whose .proto files srcs import.
    grpc: also run grpc_cpp_plugin (control plane only; the data plane never links libgrpc).
    """
    pkg = native.package_name()
    outs = []
    for s in srcs:
        base = s[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    out = "$(GENDIR)/" + pkg
    plugin = " --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin --grpc_out=" + out if grpc else ""
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = outs,
        # Imports are relative to the package (import "portico/config/v1/core.proto").
        cmd = ("/usr/bin/protoc -I" + pkg + " -I/usr/include --cpp_out=" + out + plugin +
               " " + " ".join([pkg + "/" + s for s in srcs])),
    )
    native.filegroup(name = name + "_srcs", srcs = srcs + [d + "_srcs" for d in deps], visibility = visibility)
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + (["@system//:grpcpp"] if grpc else ["@system//:protobuf"]),
        includes = ["."],
        visibility = visibility,
    )
