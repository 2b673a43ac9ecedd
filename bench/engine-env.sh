# Sourced by bench scripts that run mlx or mlx-lm directly: the environment
# vulntune's engine gives its Python children on Linux, so what they measure
# runs under the engine's conditions. engine_blas is the library preloaded
# (internal/engine/blas.go, SystemBLAS: the first candidate present);
# engine_malloc is glibc's tuning (internal/engine/malloc.go, MallocTuning).
# TestBenchEngineEnv in internal/engine fails when the two disagree.
engine_blas=""
for p in \
  /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 \
  /usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3 \
  /usr/lib/x86_64-linux-gnu/libopenblas.so.0 \
  /usr/lib/aarch64-linux-gnu/libopenblas.so.0 \
  /usr/lib64/libopenblas.so.0 \
  /usr/lib64/libopenblasp.so.0 \
  /usr/lib/libopenblas.so.0; do
  [ -e "$p" ] && engine_blas=$p && break
done
engine_malloc=(
  MALLOC_ARENA_MAX=1
  MALLOC_MMAP_MAX_=0
  MALLOC_TRIM_THRESHOLD_=107374182400
  MALLOC_TOP_PAD_=1073741824
)
