#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lint.sh: the kernel's own checks, all of which must be clean.
#   checkpatch.pl --strict  on the driver, the uAPI header and the selftests
#   kernel-doc -Wall        on the driver and the uAPI header
#   sparse (C=1) and W=1    building the module against the Debian headers
#   sphinx-build -W         on Documentation/, when Sphinx is installed
# Uses the linux-source and Debian headers that scripts/setup.sh unpacked.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

fail=0
step() { itd_log "lint: $*"; }
bad() { printf '# lint: %s\n' "$*"; fail=1; }

cd "$REPO"
driver=(drivers/iommu_testdev/*.c drivers/iommu_testdev/*.h
	include/uapi/linux/iommu_testdev.h)
tests=(tools/testing/selftests/iommu_testdev/*.c
       tools/testing/selftests/iommu_testdev/*.h)

cp=$LINUX_SRC/scripts/checkpatch.pl
[[ -x $cp ]] || itd_die "no $cp: run scripts/setup.sh"

# A clean verdict is kept under the hash of every file lint reads and of
# the tools it runs (ITD_LINT_CACHE=0: run anyway).  A check run that
# changed none of them takes it instead of 20 CPU-seconds of linting.
lint_key() {
	{
		# Paths relative to the tree: every clone shares the verdict.
		sha256sum "${driver[@]}" "${tests[@]}" scripts/lint.sh \
			scripts/lib.sh scripts/budget.awk \
			drivers/iommu_testdev/Kconfig \
			drivers/iommu_testdev/Makefile Kbuild \
			tools/testing/selftests/iommu_testdev/settings
		find Documentation -type f -print0 | sort -z | xargs -0 sha256sum
		sha256sum <"$cp"
		sha256sum <"$LINUX_SRC/scripts/kernel-doc"
		cat "$DEB_ROOT/version"
		# A missing tool hashes as missing; the checks below report it.
		gcc -dumpfullversion || true
		sparse --version || true
		sphinx-build --version || true
	} 2>&1 | sha256sum | cut -c1-16
}
lcache=$ITD_CACHE/builds/lint
key=$(lint_key)
if [[ ${ITD_LINT_CACHE:-1} == 1 && -e $lcache/$key ]]; then
	echo "# lint: clean (checkpatch --strict, kernel-doc, sparse, W=1, sphinx; the same inputs as a clean run, $key)"
	exit 0
fi

step "checkpatch --strict"
# compat.h is where 6.12-versus-mainline differences live, by version.
plain=()
for f in "${driver[@]}"; do
	[[ $f == */compat.h ]] || plain+=("$f")
done
out=$("$cp" --strict --no-tree --terse --show-types -f \
	"${plain[@]}" "${tests[@]}" \
	drivers/iommu_testdev/Kconfig drivers/iommu_testdev/Makefile Kbuild |
	grep -v '^total:' || true)
out+=$("$cp" --strict --no-tree --terse --show-types \
	--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
	-f drivers/iommu_testdev/compat.h | grep -v '^total:' || true)
[[ -z $out ]] || bad "checkpatch:"$'\n'"$out"

step "kernel-doc -Wall"
out=$(perl "$LINUX_SRC/scripts/kernel-doc" -none -Wall "${driver[@]}" 2>&1 || true)
[[ -z $out ]] || bad "kernel-doc:"$'\n'"$out"

step "sparse and W=1 (x86_64, Debian headers)"
itd_kernel x86_64 debian
b=$ITD_OUT/lint/module
rm -rf "$b"
mkdir -p "$b"
cp -r Kbuild drivers include "$b/"
out=$(make -s -C "$KDIR" M="$b" C=1 W=1 modules 2>&1 |
	grep -E 'warning|error|sparse' || true)
[[ -z $out ]] || bad "sparse/W=1:"$'\n'"$out"

step "selftests settings: the timeout covers the per-test budgets"
st=tools/testing/selftests/iommu_testdev
want=0
for f in "$st"/*_test.c "$st"/iommu_testdev_hardening.c "$st"/iommu_testdev_lifecycle.c; do
	n=$(awk -f "$SCRIPTS/budget.awk" "$f")
	[[ $n -le $want ]] || want=$n
done
have=$(sed -n 's/^timeout=//p' "$st/settings")
[[ ${have:-0} -ge $want ]] ||
	bad "$st/settings: timeout=${have:-none}, but one program's tests may take $want s"

if command -v sphinx-build >/dev/null; then
	step "sphinx-build -W"
	out=$(sphinx-build -q -W -b html Documentation "$ITD_OUT/docs" 2>&1) ||
		bad "sphinx:"$'\n'"$out"
else
	bad "sphinx-build missing (apt-get install python3-sphinx)"
fi

if [[ $fail == 0 ]]; then
	echo "# lint: clean (checkpatch --strict, kernel-doc, sparse, W=1, sphinx)"
	mkdir -p "$lcache"
	touch "$lcache/$key"
	itd_cache_prune "$lcache"
fi
exit $fail
