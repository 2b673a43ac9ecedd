"""What the engine runs on: package versions, the MLX backend, the BLAS."""

import os


def version(dist):
    """The installed version of a distribution, "" when absent."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def mlx_backend():
    """The device MLX computes on: metal, cuda or cpu."""
    import mlx.core as mx

    if mx.metal.is_available():
        return "metal"
    if hasattr(mx, "cuda") and mx.cuda.is_available():
        return "cuda"
    return "cpu"


def blas_library():
    """The file that provides cblas_sgemm to libmlx: a library preloaded
    (LD_PRELOAD) sits in the global scope, which the dynamic linker searches
    before libmlx's own dependencies; "" when nothing there has it, so
    libmlx uses the reference BLAS its wheel bundles."""
    import ctypes

    class DlInfo(ctypes.Structure):
        _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                    ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]

    try:
        sym = ctypes.CDLL(None).cblas_sgemm
    except (AttributeError, OSError):
        return ""
    info = DlInfo()
    if not ctypes.CDLL(None).dladdr(ctypes.cast(sym, ctypes.c_void_p), ctypes.byref(info)):
        return ""
    return os.path.realpath(info.fname.decode())


def blas_kind():
    """"openblas" when an OpenBLAS serves MLX's matmuls, "bundled" for the
    wheel's reference BLAS, "" off Linux."""
    import sys

    if not sys.platform.startswith("linux"):
        return ""
    lib = blas_library()
    if not lib:
        return "bundled"
    return "openblas" if "openblas" in os.path.basename(lib).lower() else os.path.basename(lib)
