# SPDX-License-Identifier: GPL-2.0
# budget.awk <test.c>: the sum, in seconds, of the per-test time budgets of
# one kselftest_harness program (scripts/lint.sh checks the selftests'
# settings timeout against the largest).
# How:
# TEST/TEST_F at the harness default (30 s), TEST_F_TIMEOUT at its own,
# each times the number of variants of its fixture.
/^FIXTURE_VARIANT_ADD\(/ { f = $0; sub(/^FIXTURE_VARIANT_ADD\( */, "", f); sub(/ *,.*/, "", f); nv[f]++ }
/^TEST(_F)?(_TIMEOUT)?\(/ {
	l = $0; sub(/^[A-Z_]*\( */, "", l); sub(/\).*/, "", l)
	n = split(l, a, / *, */)
	t = ($0 ~ /^TEST_F_TIMEOUT\(/) ? a[3] + 0 : ($0 ~ /^TEST_TIMEOUT\(/ ? a[2] + 0 : 30)
	fx = ($0 ~ /^TEST_F/) ? a[1] : ""
	tests[++nt] = fx SUBSEP t
}
END {
	for (i = 1; i <= nt; i++) { split(tests[i], b, SUBSEP); m = (b[1] in nv) ? nv[b[1]] : 1; sum += m * b[2] }
	print sum
}
