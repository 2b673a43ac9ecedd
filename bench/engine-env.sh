# Sourced by bench scripts that run mlx or mlx-lm directly: the environment
# vulntune's engine gives its Python children on Linux, so what they measure
# runs under the engine's conditions. engine_blas is the library preloaded
# (internal/engine/blas.go, ChooseBLAS: VULNTUNE_BLAS; else the system's
# OpenBLAS when setup measured it clearly faster; else the engine's own
# scipy-openblas32; else the first system candidate present);
# engine_malloc is glibc's tuning (internal/engine/malloc.go, MallocTuning).
# TestBenchEngineEnv in internal/engine fails when the two disagree.
# BLAS=engine|system|bundled|PATH picks one for a comparison.
engine_venv="${VULNTUNE_DATA_DIR:?set VULNTUNE_DATA_DIR to a data dir with an engine}/engine/venv"
engine_own=$(ls "$engine_venv"/lib/python3*/site-packages/scipy_openblas32/lib/libopenblas_python.so 2>/dev/null | head -n 1)
system_blas=""
for p in \
  /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 \
  /usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3 \
  /usr/lib/x86_64-linux-gnu/libopenblas.so.0 \
  /usr/lib/aarch64-linux-gnu/libopenblas.so.0 \
  /usr/lib64/libopenblas.so.0 \
  /usr/lib64/libopenblasp.so.0 \
  /usr/lib/libopenblas.so.0; do
  [ -e "$p" ] && system_blas=$p && break
done
measured=$(sed -n 's/^ *"chosen": *"\([a-z]*\)".*/\1/p' "$engine_venv/vulntune-blas.json" 2>/dev/null)
case "${BLAS:-${VULNTUNE_BLAS:-}}" in
  bundled) engine_blas="" ;;
  engine) engine_blas=$engine_own ;;
  system) engine_blas=$system_blas ;;
  "")
    if [ "$measured" = system ] && [ -n "$system_blas" ]; then engine_blas=$system_blas
    elif [ -n "$engine_own" ]; then engine_blas=$engine_own
    else engine_blas=$system_blas; fi ;;
  *) engine_blas=${BLAS:-$VULNTUNE_BLAS} ;;
esac
engine_malloc=(
  MALLOC_ARENA_MAX=1
  MALLOC_MMAP_MAX_=0
  MALLOC_TRIM_THRESHOLD_=107374182400
  MALLOC_TOP_PAD_=1073741824
)
