"""C++ code from .proto files with Debian's protoc, without rules_proto.

Imports are relative to the package (api/): import "portico/config/v1/core.proto".
"""

def _gen(name, srcs, deps, outs, flags, visibility):
    pkg = native.package_name()
    out = "$(GENDIR)/" + pkg
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = outs,
        cmd = ("/usr/bin/protoc -I" + pkg + " -I/usr/include " + flags.replace("OUT", out) +
               " " + " ".join([pkg + "/" + s for s in srcs])),
    )

def portico_proto_library(name, srcs, deps = [], visibility = None):
    """Message classes (.pb.h/.pb.cc) as cc_library `name`; deps are other such libraries."""
    outs = []
    for s in srcs:
        outs += [s[:-len(".proto")] + ".pb.h", s[:-len(".proto")] + ".pb.cc"]
    _gen(name, srcs, deps, outs, "--cpp_out=OUT", visibility)
    native.filegroup(name = name + "_srcs", srcs = srcs + [d + "_srcs" for d in deps], visibility = visibility)
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["@system//:protobuf"],
        includes = ["."],
        visibility = visibility,
    )

def portico_grpc_library(name, srcs, proto, visibility = None):
    """grpc++ service stubs (.grpc.pb.*) for srcs, whose messages are in `proto`.

    Control plane and tools only: the data plane never links libgrpc (see BUILD_FACTS.md).
    """
    outs = []
    for s in srcs:
        outs += [s[:-len(".proto")] + ".grpc.pb.h", s[:-len(".proto")] + ".grpc.pb.cc"]
    _gen(name, srcs, [proto], outs,
         "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin --grpc_out=OUT", visibility)
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = [proto, "@system//:grpcpp"],
        includes = ["."],
        visibility = visibility,
    )
