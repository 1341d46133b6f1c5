package webhook

import (
	"slices"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
)

// sortPatch orders operations by path, comparing numeric segments as
// numbers, so the patch is deterministic (the diff walks Go maps in random
// order). This is safe for what Inject produces: adds and replaces only,
// array appends in increasing index order, and never an operation on a path
// below another operation's path.
func sortPatch(ops []jsonpatch.Operation) {
	slices.SortStableFunc(ops, func(x, y jsonpatch.Operation) int { return comparePaths(x.Path, y.Path) })
}

// comparePaths compares JSON pointers segment by segment.
func comparePaths(x, y string) int {
	xs, ys := strings.Split(x, "/"), strings.Split(y, "/")
	for i := 0; i < len(xs) && i < len(ys); i++ {
		if xs[i] == ys[i] {
			continue
		}
		xn, xerr := strconv.Atoi(xs[i])
		yn, yerr := strconv.Atoi(ys[i])
		if xerr == nil && yerr == nil {
			return xn - yn
		}
		return strings.Compare(xs[i], ys[i])
	}
	return len(xs) - len(ys)
}
