# Sourced by each misbehaving runtime. Each is a wrapper around a real runtime ($OCITEST_REAL_RUNTIME,
# default runc) that breaks exactly one thing; tests/test_misbehaving.py checks that ocitest turns red
# on the matching requirement and on nothing else.
REAL=${OCITEST_REAL_RUNTIME:-runc}
cmd=""
skip_next=""
for arg in "$@"; do
  if [ -n "$skip_next" ]; then skip_next=""; continue; fi
  case "$arg" in
    --root|--log|--log-format|--criu) skip_next=1 ;;  # runc's global options that take a value
    -*) ;;
    *) cmd=$arg; break ;;
  esac
done
# The container ID is the last argument of every lifecycle command except kill (ID SIGNAL).
eval "id=\${$#}"
if [ "$cmd" = kill ] && [ $# -ge 3 ]; then
  n=$(($# - 1)); eval "id=\${$n}"; eval "sig=\${$#}"
fi
bundle_dir() {  # the --bundle argument of create
  prev=""
  for arg in "$@"; do
    [ "$prev" = --bundle ] && { echo "$arg"; return; }
    prev=$arg
  done
  pwd
}
status_of() { "$REAL" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null; }
