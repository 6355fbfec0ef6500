"""cc_library_private: a cc_library whose internal headers other modules cannot include.

Why: Bazel 4.2.3 hands a cc_library's headers in `srcs` to its dependents'
compile actions as well as those in `hdrs` (both are "declared include
sources", transitively). Only clang's layering_check tells them apart, and
the auto-configured toolchain here is gcc. So "in srcs, not hdrs" alone does
not stop engine/ from including iot/http.h. This is the stand-in for Bazel
5's `implementation_deps` + layering_check:

    cc_library_private(name = "x", srcs = [...], hdrs = [...], deps = [...],
                       impl_deps = [...], visibility = [...])

builds the library as `x_impl` (private to the package) and exposes it as
`x` through a rule that forwards its linking unchanged but, for compiling,
only `hdrs` and the compilation contexts of `deps`. Headers in `srcs`, and
headers of `impl_deps`, are then absent from a dependent's compile: including
one fails ("No such file or directory" in the sandbox, "undeclared
inclusion(s)" without it). Tests that need an internal header get it from a
testonly cc_library in the same package that lists it in `hdrs`.
"""

def _cc_public_impl(ctx):
    own = CcInfo(compilation_context = cc_common.create_compilation_context(
        headers = depset(ctx.files.hdrs),
    ))
    public = cc_common.merge_cc_infos(
        direct_cc_infos = [own],
        cc_infos = [d[CcInfo] for d in ctx.attr.deps],
    )
    return [
        DefaultInfo(files = ctx.attr.impl[DefaultInfo].files),
        CcInfo(
            compilation_context = public.compilation_context,
            linking_context = ctx.attr.impl[CcInfo].linking_context,
        ),
        coverage_common.instrumented_files_info(ctx, dependency_attributes = ["impl"]),
    ]

_cc_public = rule(
    implementation = _cc_public_impl,
    attrs = {
        "impl": attr.label(mandatory = True, providers = [CcInfo]),
        "hdrs": attr.label_list(allow_files = [".h"]),
        "deps": attr.label_list(providers = [CcInfo]),
    },
    doc = "Forwards impl's linking; compiles dependents against hdrs and deps only.",
)

def cc_library_private(name, srcs = [], hdrs = [], deps = [], impl_deps = [], visibility = None, **kwargs):
    """A cc_library whose srcs headers and impl_deps stay out of its dependents' compiles.

    Args:
      name: the library's label, as for cc_library.
      srcs: sources and internal headers (only this library may include them).
      hdrs: the public headers.
      deps: libraries the public headers need (passed on to dependents).
      impl_deps: libraries only the sources use (not passed on for compiling).
      visibility: of the public target; NAME_impl is private to the package.
      **kwargs: other cc_library attributes (copts, linkopts, ...), for NAME_impl.
    """
    native.cc_library(
        name = name + "_impl",
        srcs = srcs,
        hdrs = hdrs,
        deps = deps + impl_deps,
        visibility = ["//visibility:private"],
        **kwargs
    )
    _cc_public(
        name = name,
        impl = ":" + name + "_impl",
        hdrs = hdrs,
        deps = deps,
        visibility = visibility,
    )
