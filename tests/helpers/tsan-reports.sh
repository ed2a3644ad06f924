#!/usr/bin/env bash
# tsan-reports.sh clean|check DIR: the two ends of the TSan pass
# (tests/CMakeLists.txt). Every process of the tsan tests writes its
# ThreadSanitizer reports to DIR/report.<pid> (TSAN_OPTIONS log_path).
#   clean: empties DIR (it must exist: TSan cannot create it)
#   check: fails, printing them, if any report was written
mode=${1:?usage: tsan-reports.sh clean|check DIR}
dir=${2:?usage: tsan-reports.sh clean|check DIR}
case $mode in
  clean) rm -rf "$dir" && mkdir -p "$dir"; exit ;;
  check) ;;
  *) echo "tsan-reports.sh: unknown mode $mode" >&2; exit 2 ;;
esac
shopt -s nullglob
reports=("$dir"/report.*)
if [ ${#reports[@]} -eq 0 ]; then
  echo "no ThreadSanitizer report in $dir"
  exit 0
fi
for r in "${reports[@]}"; do
  echo "=== $r"
  cat "$r"
done
echo "${#reports[@]} process(es) wrote ThreadSanitizer reports (see above)"
exit 1
